import Foundation
import PeerHarness

@testable import SyncAgentTests

/// The built `relaysync` executable run as a child process, for tests that
/// kill it or signal it like an operator would.
struct AgentProcess {
    static func executable() throws -> URL {
        let root = PeerEnvironment.repoRoot()
        for candidate in [".build/debug/relaysync", ".build/x86_64-unknown-linux-gnu/debug/relaysync", ".build/aarch64-unknown-linux-gnu/debug/relaysync"] {
            let url = root.appendingPathComponent(candidate)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw FixtureError("relaysync executable not built under \(root.path)/.build (run swift build first)")
    }

    let process: Process
    let output: URL

    static func start(_ arguments: [String], logTo output: URL) throws -> AgentProcess {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = arguments
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)  // FileHandle below reports a failure
        let handle = try FileHandle(forWritingTo: output)
        try handle.seekToEnd()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return AgentProcess(process: p, output: output)
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for exit, at most `timeout`; nil if it is still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        let process = self.process
        guard (try? await Poll.until(timeout: timeout) { !process.isRunning }) == true else { return nil }
        return process.terminationStatus
    }

    /// Runs to completion (bounded) and returns the exit status and output.
    static func run(_ arguments: [String], logTo output: URL, timeout: Duration) async throws -> (Int32, String) {
        let p = try start(arguments, logTo: output)
        guard let status = await p.waitForExit(timeout: timeout) else {
            p.signal(SIGKILL)
            _ = await p.waitForExit(timeout: .seconds(5))
            throw FixtureError("relaysync \(arguments.joined(separator: " ")) did not finish in \(timeout)")
        }
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}
