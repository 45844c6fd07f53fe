import Foundation
import PeerHarness
import Testing

/// The progress line as the binary writes it: what reaches stderr with and without a terminal
/// (the line itself and the reporter are in SyncAgentTests' ProgressTests).
@Suite struct ProgressOutputTests {
    @Test func noCarriageReturnsOnStderrWithoutATerminal() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let relaysync = try AgentProcess.executable().path
        try "{}\n".write(to: directory.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        let restore = try await CLIRun.run(
            relaysync, ["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--dry-run", "--log-level", "debug"],
            environment: ["TERM": "xterm"], in: directory)
        #expect(restore.status == 1, "\(restore.stderr)")
        #expect(!restore.stderr.contains("\r") && !restore.stderr.contains("\u{1B}["), "\(restore.stderr)")
        // A one-shot run whose relay never answers: it logs while it waits, exits 2, and never draws a line.
        try #"{"pubkeys":["3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":"l.sqlite"}"#
            .write(to: directory.appendingPathComponent("sync.json"), atomically: true, encoding: .utf8)
        let run = try await CLIRun.run(
            relaysync, ["run", "--once", "--config", "sync.json"], environment: ["TERM": "xterm"], in: directory, timeout: .seconds(90))
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("FAILED ws://127.0.0.1:1"))
        #expect(!run.stderr.isEmpty && !run.stderr.contains("\r") && !run.stderr.contains("\u{1B}["), "\(run.stderr)")
    }

    /// Whether this machine hands out pseudo-terminals (a container may have no /dev/ptmx).
    static let hasPseudoTerminals: Bool = {
        let fd = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }()

    @Test(.enabled(if: hasPseudoTerminals, "no pseudo-terminals here (/dev/ptmx cannot be opened)"))
    func aTerminalGetsALiveLineThatIsCleared() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "{}\n".write(to: directory.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        // A pseudo-terminal for the child's stderr (Glibc's posix_openpt is not imported: /dev/ptmx
        // and the Linux ioctls TIOCSPTLCK and TIOCGPTN, whose macros do not import either).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0, number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431, &unlock) == 0 && ioctl(master, 0x8004_5430, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        let out = directory.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let p = Process()
        p.executableURL = try AgentProcess.executable()
        p.arguments = ["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--dry-run"]
        p.currentDirectoryURL = directory
        p.environment = ProcessInfo.processInfo.environment.merging(["TERM": "xterm", "COLUMNS": "100"]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try p.run()
        close(slave)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        func drain() {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return }
                bytes += buffer[..<n]
            }
        }
        try await Poll.until(timeout: .seconds(30), every: .milliseconds(20)) {
            drain()
            return !p.isRunning
        }
        drain()
        #expect(!p.isRunning)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\r\u{1B}[Krestore: 0 events"), "\(text.debugDescription)")
        #expect(text.hasSuffix("\r\u{1B}[K"), "cleared before the report: \(text.debugDescription)")
        #expect(try String(contentsOf: out, encoding: .utf8).contains("restore into ws://127.0.0.1:1 (dry run)"))
    }
}
