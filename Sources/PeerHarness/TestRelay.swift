import Foundation
import NostrCore

/// A third-party relay (nostr-relay or nostr-sdk's LocalRelay) running on
/// 127.0.0.1 in its own process group, started and stopped by PID.
public final class TestRelay: @unchecked Sendable {
    public enum Flavor: String, Sendable { case nostrRelay, localRelay }

    public struct Options: Sendable {
        /// nostr-relay's `max_limit` (results per REQ).
        public var maxLimit: Int?
        /// Require NIP-42 authentication (LocalRelay: for reads and writes; nostr-relay: for writes,
        /// and only `writers` may write).
        public var auth: Bool
        /// nostr-relay with `auth`: pubkeys given the writer role.
        public var writers: [String]
        /// LocalRelay: keep events in LMDB so a restart keeps them (nostr-relay always persists).
        public var persistent: Bool
        /// nostr-relay: reject events older than a year, as its default config does.
        public var recentOnly: Bool
        /// LocalRelay: keep events in `scripts/peers/memory_store.py`, which has no cap, instead of
        /// nostr-sdk's in-memory store, which keeps only the newest 75,000. For benchmarks.
        public var unboundedMemory: Bool
        /// LocalRelay without `auth`: NIP-42 for reads only (every REQ, COUNT and NEG-OPEN until the
        /// client authenticates, as any key); writes stay open, as on a DM inbox relay.
        public var authRead: Bool
        /// LocalRelay: a DM relay's rule (nostr-sdk's `auth_dm`): a filter that could match a gift wrap
        /// (kind 1059 among its kinds, or no kinds) needs NIP-42 AUTH and `#p` naming only the
        /// authenticated pubkey, else CLOSED "error: you cannot request another user's gift wrap".
        /// One identity per connection: a later AUTH replaces the earlier.
        public var authDM: Bool

        public init(
            maxLimit: Int? = nil, auth: Bool = false, writers: [String] = [], persistent: Bool = false, recentOnly: Bool = false,
            unboundedMemory: Bool = false, authRead: Bool = false, authDM: Bool = false
        ) {
            self.maxLimit = maxLimit
            self.auth = auth
            self.writers = writers
            self.persistent = persistent
            self.recentOnly = recentOnly
            self.unboundedMemory = unboundedMemory
            self.authRead = authRead
            self.authDM = authDM
        }
    }

    public let flavor: Flavor
    public let options: Options
    public let port: Int
    public let dataDirectory: URL
    public var url: RelayURL { RelayURL("ws://127.0.0.1:\(port)")! }
    private let lock = NSLock()
    private var process: Process?
    private let ownsDirectory: Bool

    public var pid: Int32 { lock.withLock { process?.processIdentifier ?? 0 } }

    init(flavor: Flavor, options: Options, port: Int, dataDirectory: URL, ownsDirectory: Bool) {
        self.flavor = flavor
        self.options = options
        self.port = port
        self.dataDirectory = dataDirectory
        self.ownsDirectory = ownsDirectory
    }

    /// A port picked here can be taken before the relay binds it (an outgoing connection of
    /// another test gets the same ephemeral port): the relay is then started again on a new one,
    /// three times at most. A port the caller names is tried once.
    public static func start(_ flavor: Flavor, options: Options = .init(), port: Int? = nil, dataDirectory: URL? = nil) async throws -> TestRelay {
        for attempt in 1... {
            let dir = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-peer-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let relay = TestRelay(flavor: flavor, options: options, port: try port ?? FreePort.pick(), dataDirectory: dir, ownsDirectory: dataDirectory == nil)
            do {
                try await relay.launch()
                return relay
            } catch let error as PeerError where port == nil && attempt < 3 && error.description.contains("in use") {
                continue
            }
        }
        preconditionFailure("unreachable: the third attempt returns or throws")
    }

    /// Runs `body` with a started relay and always stops it.
    public static func with<T>(_ flavor: Flavor, options: Options = .init(), _ body: (TestRelay) async throws -> T) async throws -> T {
        let relay = try await start(flavor, options: options)
        do {
            let result = try await body(relay)
            await relay.stop()
            return result
        } catch {
            await relay.stop()
            throw error
        }
    }

    private func launch() async throws {
        let venv = try PeerEnvironment.venv()
        let p = Process()
        // Foundation starts the child as the leader of its own process group,
        // so signalling the group also reaches the workers it forks (gunicorn).
        var env = ProcessInfo.processInfo.environment
        env["RELAYSYNC_VENV"] = venv.path
        p.environment = env
        switch flavor {
        case .nostrRelay:
            p.executableURL = PeerEnvironment.script("nostr-relay-serve")
            var args = [String(port), dataDirectory.path]
            if let m = options.maxLimit { args += ["--max-limit", String(m)] }
            if options.auth { args.append("--auth") }
            for w in options.writers { args += ["--writer", w] }
            if options.recentOnly { args.append("--recent-only") }
            p.arguments = args
        case .localRelay:
            p.executableURL = venv.appendingPathComponent("bin/python")
            var args = [PeerEnvironment.script("local_relay.py").path, "--port", String(port)]
            if options.persistent { args += ["--lmdb", dataDirectory.appendingPathComponent("lmdb").path] }
            if options.unboundedMemory { args.append("--unbounded-memory") }
            if options.auth {
                args += ["--nip42", "both"]
            } else if options.authRead {
                args += ["--nip42", "read"]
            }
            if options.authDM { args.append("--auth-dm") }
            p.arguments = args
        }
        let log = dataDirectory.appendingPathComponent("relay.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if !p.isRunning { break }
            if FreePort.isListening(port), await ready() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let tail = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(1500)
        await stop()
        throw PeerError("\(flavor.rawValue) did not start on port \(port):\n\(tail)")
    }

    /// nostr-relay is ready when NIP-11 answers; LocalRelay when it accepts TCP.
    private func ready() async -> Bool {
        guard flavor == .nostrRelay else { return true }
        return FreePort.httpGet(port: port, accept: "application/nostr+json")?.hasPrefix("HTTP/1.1 200") ?? false
    }

    /// Stops the relay and removes data it created. Idempotent. A relay whose data is removed gets
    /// SIGKILL at once: nothing of it is kept, and nostr-relay's gunicorn takes about 2.5 s to stop
    /// gracefully, which every test paid. Data the caller keeps gets SIGTERM, SIGKILL after 5 s.
    public func stop() async {
        await terminate(gracefully: !ownsDirectory)
        if ownsDirectory { try? FileManager.default.removeItem(at: dataDirectory) }
    }

    /// `stop()` without `await`, for `defer`, waiting (bounded) until the process group's leader
    /// is gone.
    public func stopNow() {
        if let p = lock.withLock({ () -> Process? in
            defer { process = nil }; return process
        }) {
            let pid = p.processIdentifier
            var polls = 0
            if !ownsDirectory {
                kill(-pid, SIGTERM)
                while p.isRunning && polls < 100 { usleep(50_000); polls += 1 }
            }
            kill(-pid, SIGKILL)
            while p.isRunning && polls < 200 { usleep(20_000); polls += 1 }
        }
        if ownsDirectory { try? FileManager.default.removeItem(at: dataDirectory) }
    }

    /// SIGKILL now, keeping the data: a crash.
    public func kill9() async {
        await terminate(gracefully: false)
    }

    /// Starts again on the same port with the same data.
    public func restart() async throws {
        await terminate(gracefully: true)
        try await launch()
    }

    /// Stops the relay, deletes these events from its store behind its back (a disk fault, an
    /// operator), and starts it again on the same port. LocalRelay needs `persistent`.
    public func removeFromStore(_ ids: [String]) async throws {
        let store: [String]
        switch flavor {
        case .nostrRelay: store = ["--nostr-relay", dataDirectory.appendingPathComponent("nostr.sqlite3").path]
        case .localRelay:
            guard options.persistent else { throw PeerError("removeFromStore needs a persistent LocalRelay") }
            store = ["--lmdb", dataDirectory.appendingPathComponent("lmdb").path]
        }
        await terminate(gracefully: true)
        let p = Process()
        p.executableURL = try PeerEnvironment.venv().appendingPathComponent("bin/python")
        p.arguments = [PeerEnvironment.script("store_delete.py").path] + store
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        let log = dataDirectory.appendingPathComponent("store_delete.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        input.fileHandleForWriting.write(Data(ids.joined(separator: "\n").utf8 + [10]))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw PeerError("store_delete.py failed: \(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(800))")
        }
        try await launch()
    }

    private func terminate(gracefully: Bool) async {
        guard
            let p = lock.withLock({ () -> Process? in
                defer { process = nil }; return process
            })
        else { return }
        let pid = p.processIdentifier
        kill(-pid, gracefully ? SIGTERM : SIGKILL)
        let deadline = ContinuousClock.now + .seconds(5)
        while p.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if p.isRunning || gracefully { kill(-pid, SIGKILL) }
        while p.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        // The port must be free before a restart binds it again.
        let free = ContinuousClock.now + .seconds(5)
        while FreePort.isListening(port) && ContinuousClock.now < free { try? await Task.sleep(for: .milliseconds(50)) }
    }

    deinit {
        if let p = process, p.isRunning { kill(-p.processIdentifier, SIGKILL) }
    }
}
