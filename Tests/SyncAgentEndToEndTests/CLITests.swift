import Archive
import Foundation
import Ledger
import NostrCore
import Testing

@testable import SyncAgent

/// The command line's contract (docs/cli.md): user mistakes are one line on stderr naming what
/// is wrong, and every subcommand uses the same exit codes. A class, so that `deinit` removes each
/// test's folder whether or not the test used it.
@Suite final class CLITests: Sendable {
    let directory: URL
    let key = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ text: String, mode: Int = 0o644) throws {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode_t(mode))
    }

    func relaysync(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> CLIRun.Result {
        try await CLIRun.run(try AgentProcess.executable().path, arguments, environment: environment, in: directory, timeout: timeout)
    }

    /// One line, `Error: <message>`, nothing on stdout, no usage, no Foundation text.
    func expectOneLine(_ r: CLIRun.Result, status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr == "Error: \(message)\n", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    var validConfig: String { #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":"l.sqlite"}"# }

    /// Two agents on one SQLite ledger would both deliver and both archive: the second is refused
    /// with the holder's PID, while reports still read the ledger.
    @Test func aSecondAgentOnTheSameLedgerIsRefusedWithTheHoldersPID() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("sync.json", validConfig)
        let ledgerPath = directory.appendingPathComponent("l.sqlite").path
        let held = try LedgerLock.acquire(ledgerPath: ledgerPath)
        let refused = try await relaysync(["run", "--once", "--config", "sync.json"])
        expectOneLine(
            refused, status: 1,
            "ledger \(ledgerPath) is in use by another relaysync agent (PID \(getpid())): a ledger belongs to one agent (status and relays may still read it)")
        #expect(LedgerLock.holder(ledgerPath: ledgerPath) == getpid())
        #expect(try await relaysync(["status", "--config", "sync.json"]).status == 0)
        _ = held
    }

    @Test func aPostgresLedgerURLIsNotTakenAsAFilePath() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("sync.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":"postgres://relaysync@127.0.0.1:5432/relaysync"}"#)
        expectOneLine(
            try await relaysync(["relays", "--config", "sync.json"]), status: 78,
            "sync.json: ledger: this command reads a SQLite ledger only in this version (run and status work on PostgreSQL): give the SQLite ledger's path with --ledger"
        )
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("postgres:").path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data").path))
    }

    // MARK: the config file

    @Test func missingConfigIsOneLine() async throws {
        expectOneLine(try await relaysync(["status", "--config", "sync.json"]), status: 78, "sync.json: no such file")
        expectOneLine(try await relaysync(["run", "--check", "--config", "nope/sync.json"]), status: 78, "nope/sync.json: no such file")
    }

    @Test func folderAsConfigIsOneLine() async throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("conf"), withIntermediateDirectories: true)
        expectOneLine(try await relaysync(["run", "--check", "--config", "conf"]), status: 78, "conf: is a directory, not a config file")
    }

    /// root reads any file: as root the check runs as nobody through setpriv, or not at all.
    static let canBeDeniedAFile = getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    @Test(.enabled(if: canBeDeniedAFile, "running as root without /usr/bin/setpriv: no file can be unreadable"))
    func unreadableConfigSaysPermission() async throws {
        try write("sync.json", validConfig, mode: 0o000)
        let relaysync = try AgentProcess.executable().path
        let path = directory.appendingPathComponent("sync.json").path
        let r =
            getuid() != 0
            ? try await CLIRun.run(relaysync, ["status", "--config", path], in: directory)
            : try await CLIRun.run(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", relaysync, "status", "--config", path], in: directory)
        expectOneLine(r, status: 78, "\(path): permission denied (cannot be read by this user)")
    }

    @Test func badJSONGivesLineAndColumn() async throws {
        try write("sync.json", "{\n  \"pubkeys\": [\"\(key)\"],\n  \"since\": 0 \"relays\": []\n}\n")
        expectOneLine(try await relaysync(["status", "--config", "sync.json"]), status: 78, "sync.json:3:14: expected ',' or '}'")
    }

    @Test func lineAndColumnCountCharacters() {
        let text = "{\n  \"é€\": 1 x"
        let offset = Array(text.utf8).count - 1
        #expect(TextPosition.lineAndColumn(of: offset, in: text) == (2, 11))
        #expect(TextPosition.lineAndColumn(of: 0, in: text) == (1, 1))
        #expect(TextPosition.lineAndColumn(of: 10_000, in: "ab\ncd") == (2, 3))
    }

    @Test func configContentErrorExits78WithoutUsage() async throws {
        try write("sync.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"},{"url":"http://b"}]}"#)
        for command in [["run", "--check"], ["status"], ["audit"], ["relays"], ["archive", "export", "--out", "x.jsonl"]] {
            expectOneLine(try await relaysync(command + ["--config", "sync.json"]), status: 78, "sync.json: relays[1].url: not a ws:// or wss:// URL")
        }
        try write("fmt.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"log_format":"xml"}"#)
        expectOneLine(try await relaysync(["run", "--check", "--config", "fmt.json"]), status: 78, #"fmt.json: log_format: must be text or json, got "xml""#)
    }

    /// `status` and `relays` only read: before the first run they report an empty ledger and create
    /// neither the ledger file nor its folder.
    @Test func statusOnANewConfigCreatesNoLedger() async throws {
        try write("sync.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":"data/l.sqlite"}"#)
        let text = try await relaysync(["status", "--config", "sync.json"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("ledger ") && text.stdout.contains("data/l.sqlite: not created yet (no run so far)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("ws://127.0.0.1:1 [primary]"), "\(text.stdout)")
        let json = try await relaysync(["status", "--config", "sync.json", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let value = try JSONValue.parse(json.stdout)
        #expect(value["ledger_bytes"] == .int(0) && value["events"] == .int(0), "\(json.stdout)")
        #expect(try await relaysync(["relays", "--config", "sync.json"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sync.json"])
    }

    // MARK: key files

    @Test func badKeyFileIsNamedByWhatGaveIt() async throws {
        let missing = directory.appendingPathComponent("missing.key").path
        expectOneLine(try await relaysync(["diagnose", "ws://127.0.0.1:1", "--key-file", "missing.key"]), status: 78, "--key-file: \(missing): no such file")
        try write("bad.key", "not a key\n", mode: 0o600)
        let bad = directory.appendingPathComponent("bad.key").path
        try write("a.jsonl", "{}\n")
        let r = try await relaysync(["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--key-file", "bad.key"])
        #expect(
            r.status == 78 && r.stderr.hasPrefix("Error: --key-file: \(bad) does not hold a valid key") && r.stderr.split(separator: "\n").count == 1,
            "\(r.stderr)")
        // The same file named by the config, and overridden on the command line.
        try write("sync.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a","auth":true}],"secret_key_file":"missing.key"}"#)
        expectOneLine(
            try await relaysync(["run", "--check", "--config", "sync.json"], environment: ["RELAYSYNC_SECRET_KEY": ""]),
            status: 78, "secret_key_file: \(missing): no such file")
        try write("good.key", SecretKey.generate().nsec + "\n", mode: 0o644)
        let good = directory.appendingPathComponent("good.key").path
        expectOneLine(
            try await relaysync(["run", "--check", "--config", "sync.json", "--key-file", "good.key"]), status: 78,
            "--key-file: \(good) is readable by other users (mode 644); run chmod 600 on it")
        chmod(good, 0o600)
        let ok = try await relaysync(["run", "--check", "--config", "sync.json", "--key-file", "good.key"])
        #expect(ok.status == 0 && ok.stdout.contains("sync.json: OK"), "\(ok.stderr)")
        expectOneLine(try await relaysync(["key", "show", "missing.key"]), status: 78, "\(missing): no such file")
    }

    // MARK: command-line paths

    @Test func missingArchiveFolderIsOneLine() async throws {
        expectOneLine(try await relaysync(["archive", "ls", "no-archive"]), status: 64, "no-archive: no such folder")
        expectOneLine(try await relaysync(["archive", "verify", "no-archive"]), status: 64, "no-archive: no such file or folder")
        expectOneLine(try await relaysync(["restore", "no-archive", "--to", "ws://127.0.0.1:1"]), status: 64, "no-archive: no such file or folder")
        try write("file", "x")
        expectOneLine(try await relaysync(["archive", "ls", "file"]), status: 64, "file: not a folder")
    }

    /// Two agents' archive folders overlapping by one segment (a handover): `archive ls` lists
    /// both, in time order, and counts each event once.
    @Test func archiveListMergesSeveralFolders() async throws {
        let key = SecretKey.generate()
        let notes = try (0..<30).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        for (folder, agent, slice) in [("a", "host-a:1", notes[0..<20]), ("b", "host-b:2", notes[20..<30])] {
            var config = ArchiveConfiguration(directory: directory.appendingPathComponent(folder))
            config.agentID = agent
            let writer = try ArchiveWriter(configuration: config)
            for e in slice { try writer.append(e) }
            try writer.close()
        }
        let handover = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("a").path).first)
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("a").appendingPathComponent(handover),
            to: directory.appendingPathComponent("b").appendingPathComponent(handover))
        let r = try await relaysync(["archive", "ls", "a", "b"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 4, "\(r.stdout)")
        #expect(lines.prefix(3).allSatisfy { $0.hasPrefix("a/events-") || $0.hasPrefix("b/events-") }, "\(r.stdout)")
        #expect(lines.last?.hasPrefix("3 segments, 50 events, ") == true, "\(r.stdout)")
        #expect(lines.last?.hasSuffix(" in 2 folders, 30 distinct (20 in more than one segment)") == true, "\(r.stdout)")
    }

    // MARK: shared options

    @Test(arguments: [
        ["run"], ["status"], ["audit"], ["relays"], ["archive", "export", "--out", "x.jsonl"],
        ["diagnose", "ws://127.0.0.1:1"], ["restore", ".", "--to", "ws://127.0.0.1:1"],
    ])
    func badLogLevelAndFormatAreUsageErrorsEverywhere(command: [String]) async throws {
        let level = try await relaysync(command + ["--log-level", "loud"])
        #expect(level.status == 64 && level.stderr.hasPrefix("Error: The value 'loud' is invalid for '--log-level <level>'"), "\(level.stderr)")
        #expect(level.stderr.contains("Usage: relaysync"))
        let format = try await relaysync(command + ["--log-format", "xml"])
        #expect(format.status == 64 && format.stderr.hasPrefix("Error: The value 'xml' is invalid for '--log-format <format>'"), "\(format.stderr)")
    }

    /// A value checked by the subcommand is shown with that subcommand's usage, not the top level's.
    @Test func aBadValueShowsTheSubcommandsUsage() async throws {
        try write("a.jsonl", "{}\n")
        for (command, message, usage) in [
            (["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--since", "yesterday"], "--since: not unix seconds or an ISO 8601 date", "restore"),
            (["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--until", "soon"], "--until: not unix seconds or an ISO 8601 date", "restore"),
            (["restore", "a.jsonl", "--to", "http://127.0.0.1:1"], "--to: not a ws:// or wss:// URL", "restore"),
            (["restore", "a.jsonl", "--to", "ws://127.0.0.1:1", "--kinds", "1,x"], "--kinds: x is not a kind", "restore"),
            (["archive", "export", "--out", "x.jsonl", "--since", "yesterday"], "--since: not unix seconds or an ISO 8601 date", "archive export"),
        ] {
            let r = try await relaysync(command)
            #expect(r.status == 64 && r.stderr.hasPrefix("Error: \(message)\n"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("Usage: relaysync \(usage) "), "\(command): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("x.jsonl").path))
    }

    @Test func unknownOptionIsUsage() async throws {
        let r = try await relaysync(["status", "--frobnicate"])
        #expect(r.status == 64 && r.stderr.contains("Usage: relaysync status"), "\(r.stderr)")
    }

    @Test func jsonLogsAreOneObjectALine() async throws {
        let r = try await relaysync(["diagnose", "ws://127.0.0.1:1", "--timeout", "1", "--rounds", "1", "--log-level", "debug", "--log-format", "json"])
        #expect(r.status == 2, "an unreachable relay is a relay failure: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        var sawRelayURL = false
        for line in lines {
            let value = try JSONValue.parse(String(line))
            guard case let .object(fields) = value else { Issue.record("not an object: \(line)"); continue }
            #expect(Array(fields.prefix(5).map(\.0)) == ["timestamp", "level", "label", "source", "message"], "\(line)")
            for (_, v) in fields { if case .string = v {} else if case .array = v {} else { Issue.record("not a string: \(line)") } }
            if value["relay.url"] == .string("ws://127.0.0.1:1") { sawRelayURL = true }
            if case let .string(t)? = value["timestamp"] { #expect(t.hasSuffix("Z") && t.count == 24, "\(t)") }
        }
        #expect(sawRelayURL, "metadata is flattened into fields: \(r.stderr)")
        // The config key does the same, and the text format stays swift-log's line.
        try write("sync.json", #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"log_format":"json"}"#)
        let c = try SyncConfiguration.load(path: directory.appendingPathComponent("sync.json").path)
        #expect(c.logFormat == .json)
        let text = try await relaysync(["diagnose", "ws://127.0.0.1:1", "--timeout", "1", "--rounds", "1", "--log-level", "debug"])
        #expect(text.stderr.contains(" relaysync: ") && text.stderr.contains("relay.url=ws://127.0.0.1:1") && !text.stderr.contains("{\""), "\(text.stderr)")
    }

    /// Each test's folder goes with the test, used or not (a test run left an empty one behind).
    @Test func theTestsFolderIsRemovedWithTheTest() throws {
        var folder: URL?
        do {
            let other = try CLITests()
            folder = other.directory
            #expect(FileManager.default.fileExists(atPath: other.directory.path))
        }
        #expect(!FileManager.default.fileExists(atPath: try #require(folder).path))
    }

    // MARK: the loader's messages, in-process

    @Test func loaderNamesTheFileInEveryError() throws {
        func message(_ path: String) -> String? {
            do { _ = try SyncConfiguration.load(path: path); return nil } catch { return error.description }
        }
        let dir = directory.path
        #expect(message("\(dir)/none.json") == "\(dir)/none.json: no such file")
        #expect(message(dir) == "\(dir): is a directory, not a config file")
        try write("a.json", "[1,")
        #expect(message("\(dir)/a.json") == "\(dir)/a.json:1:4: unexpected end")
        try write("b.json", "{\"pubkeys\": []}")
        #expect(message("\(dir)/b.json") == "\(dir)/b.json: pubkeys: must name at least one public key")
        try Data([0x7B, 0xFF, 0x7D]).write(to: directory.appendingPathComponent("c.json"))
        #expect(message("\(dir)/c.json") == "\(dir)/c.json: not UTF-8 text")
        try write("d.json", #"{"pubkeys": ["\#(key.dropLast())"], "relays": [{"url": "ws://a"}]}"#)
        #expect(message("\(dir)/d.json") == "\(dir)/d.json: pubkeys[0]: not an npub or 64-hex public key (63 hex characters, 64 expected)")
    }
}
