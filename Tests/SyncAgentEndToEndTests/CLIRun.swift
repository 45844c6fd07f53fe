import Foundation
import PeerHarness

@testable import SyncAgentTests

/// A command run to completion with stdout and stderr captured apart (files, so a chatty child
/// never blocks), stdin from /dev/null.
enum CLIRun {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], in directory: URL,
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let id = UUID().uuidString
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(id).out")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(id).err")
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = directory
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        guard try await Poll.until(timeout: timeout, every: .milliseconds(20), { !p.isRunning }) else {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw FixtureError("\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout)")
        }
        return Result(
            status: p.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
