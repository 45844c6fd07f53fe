import Foundation
import NostrCore
import PeerHarness
import Testing

/// Running RelaySync as an installed service: `--version`, `scripts/install`, the systemd unit,
/// `relaysync key`, and the shipped example configuration. Every test runs real binaries on real
/// files in a temporary folder; nothing touches the network or /etc.
@Suite struct OperationsTests {
    let directory: URL
    let root = PeerEnvironment.repoRoot()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    // MARK: version

    @Test func versionNamesTheVersionAndTheCommit() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let r = try await CLIRun.run(try AgentProcess.executable().path, ["--version"], in: directory)
        #expect(r.status == 0)
        #expect(r.stdout.wholeMatch(of: /relaysync \d+\.\d+\.\d+ \(commit ([0-9a-f]{7}(-dirty)?|unknown)\)\n/) != nil, "\(r.stdout)")
    }

    // MARK: scripts/install

    @Test func installStampsTheCommitIsIdempotentAndUninstallRemovesWhatItInstalled() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let fm = FileManager.default
        let prefix = path("prefix"), units = path("units"), config = path("etc")
        let env = ["RELAYSYNC_UNIT_DIR": units, "RELAYSYNC_CONFIG_DIR": config]
        let install = root.appendingPathComponent("scripts/install").path
        let built = try AgentProcess.executable().path
        let bin = "\(prefix)/bin/relaysync", example = "\(prefix)/share/relaysync/sync.example.json"
        let unit = "\(units)/relaysync.service", syncJSON = "\(config)/sync.json"

        let first = try await CLIRun.run(install, ["--from-build", built, prefix], environment: env, in: directory, timeout: .seconds(60))
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(try mode(bin) == 0o755 && (try mode(example)) == 0o644 && (try mode(unit)) == 0o644 && (try mode(syncJSON)) == 0o644)
        #expect(try Data(contentsOf: URL(fileURLWithPath: example)) == Data(contentsOf: root.appendingPathComponent("sync.example.json")))

        // The installed copy carries this tree's commit; the build it came from is left as it was.
        let version = try await CLIRun.run(bin, ["--version"], in: directory)
        #expect(version.status == 0)
        if let head = try await gitHead() {
            let short = String(head.prefix(7))
            #expect(
                version.stdout == "relaysync 0.9.0 (commit \(short))\n" || version.stdout == "relaysync 0.9.0 (commit \(short)-dirty)\n", "\(version.stdout)")
        }
        #expect(try await CLIRun.run(built, ["--version"], in: directory).stdout.hasSuffix("(commit unknown)\n"))

        // The unit runs the installed binary; the new config keeps its state where the unit lets it write.
        let unitText = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(unitText.contains("\nExecStart=\(bin) run --config \(syncJSON)\n"))
        let configText = try String(contentsOfFile: syncJSON, encoding: .utf8)
        #expect(configText.contains(#""ledger": "/var/lib/relaysync/ledger.sqlite""#) && configText.contains(#""directory": "/var/lib/relaysync/archive""#))
        let key = try await CLIRun.run(bin, ["key", "generate", "--out", "\(config)/relaysync.key"], in: directory)
        #expect(key.status == 0)
        let check = try await CLIRun.run(bin, ["run", "--config", syncJSON, "--check"], in: directory)
        #expect(check.status == 0 && check.stdout.contains("OK"), "\(check.stdout)\(check.stderr)")

        // Again, over an edited configuration: everything replaced but the configuration.
        let edited = configText.replacingOccurrences(of: #""log_level": "info""#, with: #""log_level": "notice""#)
        #expect(edited != configText)
        try edited.write(toFile: syncJSON, atomically: true, encoding: .utf8)
        let second = try await CLIRun.run(install, ["--from-build", built, prefix], environment: env, in: directory, timeout: .seconds(60))
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("kept the existing \(syncJSON)"))
        #expect(try String(contentsOfFile: syncJSON, encoding: .utf8) == edited)
        #expect(try String(contentsOfFile: unit, encoding: .utf8) == unitText)
        #expect(try await CLIRun.run(bin, ["--version"], in: directory).stdout == version.stdout)

        let removed = try await CLIRun.run(install, ["--uninstall", prefix], environment: env, in: directory, timeout: .seconds(30))
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        for gone in [bin, example, unit, "\(prefix)/share/relaysync"] { #expect(!fm.fileExists(atPath: gone), "\(gone)") }
        #expect(fm.fileExists(atPath: syncJSON), "an edited configuration is the operator's: kept")
        #expect(removed.stdout.contains("kept \(syncJSON)"))
        let again = try await CLIRun.run(install, ["--uninstall", prefix], environment: env, in: directory, timeout: .seconds(30))
        #expect(again.status == 0)

        // Unchanged since install: removed with the rest.
        try fm.removeItem(atPath: config)
        #expect(try await CLIRun.run(install, ["--from-build", built, prefix], environment: env, in: directory, timeout: .seconds(60)).status == 0)
        #expect(try await CLIRun.run(install, ["--uninstall", prefix], environment: env, in: directory, timeout: .seconds(30)).status == 0)
        #expect(!fm.fileExists(atPath: syncJSON) && !fm.fileExists(atPath: bin))
    }

    // MARK: scripts/bootstrap's apt

    /// scripts/bootstrap installs through scripts/apt-get-waiting, so another apt holding a lock (as
    /// unattended-upgrades does on a fresh machine) makes it wait, bounded, instead of failing at once.
    /// apt-get updates a private lists folder from an empty source list: the machine's apt state and
    /// the network are not touched. This process holds the lock as the other apt would.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get"), "apt-get not found (not a Debian machine)"))
    func aptGetWaitingWaitsForAHeldLockAndGivesUpAfterItsBound() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let fm = FileManager.default
        let lists = path("lists"), sources = path("sources.list")
        for folder in ["lists/partial", "cache/archives/partial", "parts"] {
            try fm.createDirectory(atPath: path(folder), withIntermediateDirectories: true)
        }
        try "".write(toFile: sources, atomically: true, encoding: .utf8)
        let script = root.appendingPathComponent("scripts/apt-get-waiting").path
        let update = [
            "-o", "Dir::State::Lists=\(lists)", "-o", "Dir::Cache=\(path("cache"))", "-o", "Dir::Etc::SourceList=\(sources)",
            "-o", "Dir::Etc::SourceParts=\(path("parts"))", "-qq", "update",
        ]
        let fd = open("\(lists)/lock", O_RDWR | O_CREAT, 0o640)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(lockf(fd, F_TLOCK, 0) == 0)

        // Held past its bound: it fails with apt's line naming the lock and its holder.
        let refused = try await CLIRun.run(script, ["1"] + update, in: directory)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("Could not get lock \(lists)/lock. It is held by process \(getpid())"), "\(refused.stderr)")
        #expect(refused.stderr.contains("apt's lock was still held after 1s"), "\(refused.stderr)")

        // Released while it waits: it goes on and succeeds.
        let log = path("waiting.err")
        _ = fm.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = ["60"] + update
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let saidWaiting = try await Poll.until(timeout: .seconds(20)) {
            (try? String(contentsOfFile: log, encoding: .utf8))?.contains("waiting up to 60s") == true
        }
        #expect(saidWaiting, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(p.isRunning, "still waiting while the lock is held")
        #expect(lockf(fd, F_ULOCK, 0) == 0)
        #expect(try await Poll.until(timeout: .seconds(20)) { !p.isRunning }, "went on once the lock was released")
        #expect(p.terminationStatus == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    // MARK: the systemd unit

    @Test func serviceUnitPassesSystemdAnalyzeVerify() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let shipped = try String(contentsOf: root.appendingPathComponent("scripts/relaysync.service"), encoding: .utf8)
        let lines = Set(shipped.split(separator: "\n").map(String.init))
        for required in [
            "ExecStart=/usr/local/bin/relaysync run --config /etc/relaysync/sync.json", "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure", "StateDirectory=relaysync", "ConfigurationDirectory=relaysync", "User=relaysync",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
            "ProtectControlGroups=yes", "RestrictNamespaces=yes", "LockPersonality=yes", "MemoryDenyWriteExecute=yes",
            "SystemCallArchitectures=native", "CapabilityBoundingSet=", "WantedBy=multi-user.target",
        ] {
            #expect(lines.contains(required), "missing \(required)")
        }
        // systemd-analyze checks that ExecStart names an executable: verify a copy that runs the built binary.
        let copy = path("relaysync.service")
        try shipped.replacingOccurrences(of: "/usr/local/bin/relaysync", with: try AgentProcess.executable().path)
            .write(toFile: copy, atomically: true, encoding: .utf8)
        let analyze = try #require(
            ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "systemd-analyze not found: run scripts/bootstrap (Debian package systemd)")
        let r = try await CLIRun.run(analyze, ["verify", "--man=no", copy], in: directory, timeout: .seconds(30))
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "systemd-analyze verify: \(r.stdout)\(r.stderr)")
    }

    // MARK: keys

    @Test func keyGenerateWritesAPrivateKeyAndShowPrintsItsNpub() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let relaysync = try AgentProcess.executable().path
        let file = path("relaysync.key")

        let made = try await CLIRun.run(relaysync, ["key", "generate", "--out", file], in: directory)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try mode(file) == 0o600)
        let key = try SecretKey(parsing: try String(contentsOfFile: file, encoding: .utf8))
        let npub = NIP19.encode(.npub(key.publicKey))
        #expect(made.stdout == npub + "\n")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == key.nsec + "\n")

        let shown = try await CLIRun.run(relaysync, ["key", "show", file], in: directory)
        #expect(shown.status == 0 && shown.stdout == npub + "\n")

        // No silent overwrite: the old key stays until --force.
        let refused = try await CLIRun.run(relaysync, ["key", "generate", "--out", file], in: directory)
        #expect(refused.status != 0)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == key.nsec + "\n")
        let forced = try await CLIRun.run(relaysync, ["key", "generate", "--out", file, "--force"], in: directory)
        #expect(forced.status == 0 && forced.stdout != made.stdout)
        #expect(try mode(file) == 0o600)
        let replaced = try SecretKey(parsing: try String(contentsOfFile: file, encoding: .utf8))
        #expect(forced.stdout == NIP19.encode(.npub(replaced.publicKey)) + "\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["relaysync.key"], "no temporary file left")

        // The daemon accepts the generated file for NIP-42 AUTH.
        try #"{"pubkeys":["\#(replaced.publicKey)"],"relays":[{"url":"ws://127.0.0.1:1","role":"both","auth":true}],"secret_key_file":"relaysync.key"}"#
            .write(toFile: path("sync.json"), atomically: true, encoding: .utf8)
        let check = try await CLIRun.run(
            relaysync, ["run", "--config", path("sync.json"), "--check"], environment: ["RELAYSYNC_SECRET_KEY": ""], in: directory)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        // A key others can read is refused, in one line.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let exposed = try await CLIRun.run(relaysync, ["key", "show", file], in: directory)
        #expect(exposed.status != 0 && exposed.stdout.isEmpty)
        #expect(exposed.stderr.split(separator: "\n").count == 1 && exposed.stderr.contains("readable by other users"), "\(exposed.stderr)")
    }

    // MARK: the shipped example

    @Test func shippedExampleChecksAfterTheStepItsCommentGives() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let relaysync = try AgentProcess.executable().path
        let text = try String(contentsOf: root.appendingPathComponent("sync.example.json"), encoding: .utf8)
        try text.write(toFile: path("sync.example.json"), atomically: true, encoding: .utf8)
        let noKey = ["RELAYSYNC_SECRET_KEY": ""]
        #expect(text.contains("relaysync key generate --out relaysync.key"))

        // Path 1, as the comment says: create the key in the config's folder.
        let before = try await CLIRun.run(relaysync, ["run", "--config", "sync.example.json", "--check"], environment: noKey, in: directory)
        #expect(before.status != 0 && before.stderr.contains("secret_key_file"), "\(before.stderr)")
        #expect(try await CLIRun.run(relaysync, ["key", "generate", "--out", "relaysync.key"], in: directory).status == 0)
        let after = try await CLIRun.run(relaysync, ["run", "--config", "sync.example.json", "--check"], environment: noKey, in: directory)
        #expect(after.status == 0 && after.stdout.contains("sync.example.json: OK"), "\(after.stdout)\(after.stderr)")

        // Path 2: no key at all — delete "secret_key_file" and every "auth": true.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        object["secret_key_file"] = nil
        object["relays"] = (object["relays"] as? [[String: Any]])?.map { $0.filter { $0.key != "auth" } }
        try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("keyless.json"))
        let keyless = try await CLIRun.run(relaysync, ["run", "--config", "keyless.json", "--check"], environment: noKey, in: directory)
        #expect(keyless.status == 0, "\(keyless.stdout)\(keyless.stderr)")
    }

    // MARK: helpers

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o7777
    }

    func gitHead() async throws -> String? {
        guard let git = ["/usr/bin/git", "/bin/git"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let r = try await CLIRun.run(git, ["-c", "safe.directory=\(root.path)", "-C", root.path, "rev-parse", "HEAD"], in: directory)
        return r.status == 0 ? r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}
