import Crypto
import Foundation
import Logging
import Media
import NIOPosix
import PeerHarness

/// Runs a program to its end (bounded) and returns its status and output.
func runCommand(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-cmd-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let handle = try FileHandle(forWritingTo: out)
    p.standardOutput = handle
    p.standardError = handle
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let done = try await Poll.until(timeout: timeout, every: .milliseconds(20)) { !p.isRunning }
    if !done {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }
    try? handle.close()
    return (done ? p.terminationStatus : -9, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
}

func venvTool(_ name: String) throws -> String { try PeerEnvironment.venv().appendingPathComponent("bin/\(name)").path }

func pythonBlossom(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await runCommand(try venvTool("python"), [PeerEnvironment.repoRoot().appendingPathComponent("scripts/peers/blossom_py.py").path] + arguments)
}

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

func randomBlob(_ size: Int) -> Data {
    var g = SystemRandomNumberGenerator()
    var d = Data(count: size)
    d.withUnsafeMutableBytes { raw in
        for i in 0..<raw.count { raw[i] = UInt8.random(in: 0...255, using: &g) }
    }
    return d
}

func temporaryDirectory() -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-media-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

let testLogger = Logger(label: "media-test")

/// Files under the store's partial folder (none should outlive a fetch).
func partialFiles(_ store: BlobStore) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: store.directory.appendingPathComponent(".partial").path)) ?? []
}

var venvAvailable: Bool { (try? PeerEnvironment.venv()) != nil }
