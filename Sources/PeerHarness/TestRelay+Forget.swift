import Foundation

extension TestRelay {
    /// Makes a running LocalRelay with `unboundedMemory` drop these events from its store behind its
    /// back (a backup losing data) without a restart: scripts/peers/local_relay.py reads the ids from
    /// a control file on SIGUSR1. Unlike a NIP-09 deletion, the relay accepts the same events again.
    /// Returns how many of the ids the store held.
    @discardableResult
    public func forget(_ ids: [String]) async throws -> Int {
        guard flavor == .localRelay, options.unboundedMemory else { throw PeerError("forget needs a LocalRelay with unboundedMemory") }
        let pid = self.pid
        guard pid > 0 else { throw PeerError("forget: the relay is not running") }
        let env = ProcessInfo.processInfo.environment
        let control = env["RELAYSYNC_STORE_CONTROL_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let path = URL(fileURLWithPath: control).appendingPathComponent("memory-store-\(pid).forget").path
        let done = path + ".done"
        try? FileManager.default.removeItem(atPath: done)
        try (ids.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: done)
        }
        guard kill(pid, SIGUSR1) == 0 else { throw PeerError("forget: cannot signal \(pid): errno \(errno)") }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let answer = try? String(contentsOfFile: done, encoding: .utf8) {
                let text = answer.trimmingCharacters(in: .whitespacesAndNewlines)
                guard let count = Int(text) else { throw PeerError("forget: \(text)") }
                return count
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError("forget: no answer from the relay (pid \(pid)) in 60 s")
    }
}
