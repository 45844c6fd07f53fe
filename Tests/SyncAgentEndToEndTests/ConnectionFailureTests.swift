import Foundation
import Ledger
import NIOSSL
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// A connection failure reads the same one line in the `--once` summary, `status`, and
/// `diagnose`; `tls_ca_file` trusts a private CA for one relay.
@Suite("ConnectionFailure: one line everywhere, tls_ca_file") struct ConnectionFailureTests {
    static let untrusted = "certificate not trusted (unknown CA): set tls_ca_file for this relay if it uses a private CA"
    static let refused = "connection refused: is the relay running on that port?"

    static func serverContext() throws -> NIOSSLContext {
        try PrivateCAFixture.serverContext(PrivateCAFixture.validPEM, key: PrivateCAFixture.validKeyPEM)
    }

    /// A config reading from `url` alone, reconciliation off; `caFile` becomes its `tls_ca_file`.
    static func configuration(_ f: AgentFixture, url: RelayURL, caFile: String? = nil) throws -> SyncConfiguration {
        var relay: [(String, JSONValue)] = [("url", .string(url.normalized)), ("role", .string("primary"))]
        if let caFile { relay.append(("tls_ca_file", .string(caFile))) }
        let text = JSONValue.object([
            ("pubkeys", .array([.string(SecretKey.generate().publicKey)])),
            ("relays", .array([.object(relay)])),
            ("ledger", .string("ledger.sqlite")),
            ("reconcile", .object([("enabled", .bool(false))])),
        ]).serialized
        return try SyncConfiguration.parse(text, baseDirectory: f.directory)
    }

    static func writeCA(_ f: AgentFixture, _ text: String = PrivateCAFixture.caPEM) throws -> String {
        let folder = f.directory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try text.write(to: folder.appendingPathComponent("relay-ca.pem"), atomically: true, encoding: .utf8)
        return "tls/relay-ca.pem"
    }

    @Test(.timeLimit(.minutes(2)))
    func anUntrustedRelayFailsTheRunWithTheLineAndTheCAFileFixesIt() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: try Self.serverContext()) { server in
            let config = try Self.configuration(f, url: server.url)
            let failed = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
            #expect(!failed.succeeded)
            #expect(failed.failures[.relay(server.url)] == Self.untrusted, "\(failed.text)")
            #expect(failed.text.contains("FAILED \(server.url): \(Self.untrusted)"), "\(failed.text)")
            #expect(server.connectionCount == 0)
            let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
            let line = try #require(status.relays.first { $0.url == server.url })
            #expect(line.lastError == Self.untrusted)
            #expect(status.text.contains(": \(Self.untrusted)"), "\(status.text)")

            let trusted = try Self.configuration(f, url: server.url, caFile: try Self.writeCA(f))
            #expect(trusted.relays[0].tlsCAFile == f.directory.appendingPathComponent("tls/relay-ca.pem").standardizedFileURL)
            let ok = try await SyncAgentRunner(configuration: trusted, logger: AgentFixture.logger).runOnce()
            #expect(ok.succeeded, "\(ok.text)")
            #expect(server.connectionCount >= 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aClosedPortFailsTheRunWithTheLine() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let url = RelayURL.built("ws://127.0.0.1:\(try FreePort.pick())")
        let config = try Self.configuration(f, url: url)
        // A refusal comes at once: three seconds of retries are as telling as the product's fifteen.
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger, onceConnectWait: .seconds(3)).runOnce()
        #expect(summary.failures[.relay(url)] == Self.refused, "\(summary.text)")
        #expect(summary.text.contains("FAILED \(url): \(Self.refused)"))
    }

    /// A backup is connected to by its deliveries and its reconciliation, not by a backfill: a
    /// failure that waiting cannot change (an untrusted certificate here; a name that does not
    /// resolve takes the same path) ends the run's wait at once, and the summary says why. The
    /// reconciliation waited its full 15 s and said "could not connect".
    @Test(.timeLimit(.minutes(1)))
    func aBackupThatCannotConnectForGoodEndsTheWaitAtOnceWithTheLine() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        try await TestRelay.with(.localRelay) { primary in
            try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: try Self.serverContext()) { backup in
                let text = JSONValue.object([
                    ("pubkeys", .array([.string(SecretKey.generate().publicKey)])),
                    (
                        "relays",
                        .array([
                            .object([("url", .string(primary.url.normalized)), ("role", .string("primary"))]),
                            .object([("url", .string(backup.url.normalized)), ("role", .string("backup"))]),
                        ])
                    ),
                    ("ledger", .string("ledger.sqlite")),
                ]).serialized
                let config = try SyncConfiguration.parse(text, baseDirectory: f.directory)
                let started = ContinuousClock.now
                let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
                #expect(ContinuousClock.now - started < .seconds(10), "did not wait out the 15 s: \(summary.text)")
                #expect(!summary.succeeded)
                #expect(summary.failures[.relay(backup.url)]?.hasSuffix(": \(Self.untrusted)") == true, "\(summary.text)")
                #expect(!summary.text.contains("could not connect"), "\(summary.text)")
                #expect(backup.connectionCount == 0)
            }
        }
    }

    /// `restore` and `audit` end the wait at once on a failure waiting cannot change and say why
    /// (they said "could not connect" after 15 s); a restore that could not start leaves no
    /// journal beside the archive.
    @Test(.timeLimit(.minutes(1)))
    func restoreAndAuditSayWhyAtOnceAndARestoreLeavesNoJournal() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let relaysync = try AgentProcess.executable().path
        let archive = f.directory.appendingPathComponent("archive")
        try FileManager.default.createDirectory(at: archive, withIntermediateDirectories: true)
        try "{}\n".write(to: archive.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: try Self.serverContext()) { server in
            let started = ContinuousClock.now
            let restore = try await CLIRun.run(relaysync, ["restore", "archive/a.jsonl", "--to", server.url.normalized], in: f.directory)
            #expect(restore.status == 2, "\(restore.stderr)")
            let line = try #require(restore.stderr.split(separator: "\n").last.map(String.init))
            #expect(line.hasPrefix("Error: restore into wss://127.0.0.1:") && line.hasSuffix(": \(Self.untrusted)"), "\(restore.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: archive.path) == ["a.jsonl"], "no journal left behind")

            let config = JSONValue.object([
                ("pubkeys", .array([.string(SecretKey.generate().publicKey)])),
                ("relays", .array([.object([("url", .string(server.url.normalized)), ("role", .string("primary"))])])),
                ("ledger", .string("ledger.sqlite")),
            ]).serialized
            try config.write(to: f.directory.appendingPathComponent("sync.json"), atomically: true, encoding: .utf8)
            let audit = try await CLIRun.run(relaysync, ["audit", "--config", "sync.json"], in: f.directory)
            #expect(audit.status == 2, "\(audit.stdout)\(audit.stderr)")
            #expect(audit.stdout.contains("  FAILED: reconciling \(server.url): \(Self.untrusted)\n"), "\(audit.stdout)")
            #expect(ContinuousClock.now - started < .seconds(20), "neither waited out its 15 s")
        }
    }

    @Test func aMissingOrBadCAFileIsAConfigErrorNamingTheKey() throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        do {
            _ = try Self.configuration(f, url: "wss://relay.example", caFile: "missing.pem")
            Issue.record("a missing CA file was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "relays[0].tls_ca_file")
            #expect(error.reason.contains("missing.pem") && error.reason.contains("no such file"), "\(error.reason)")
        }
        let notPEM = try Self.writeCA(f, "not a certificate\n")
        do {
            _ = try Self.configuration(f, url: "wss://relay.example", caFile: notPEM)
            Issue.record("a file without a certificate was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "relays[0].tls_ca_file", "\(error)")
        }
        do {
            _ = try Self.configuration(f, url: "wss://relay.example", caFile: "tls")
            Issue.record("a folder was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "relays[0].tls_ca_file", "\(error)")
        }
        // Without the key, no trust roots; with a good file, its certificates.
        #expect(try Self.configuration(f, url: "wss://relay.example").relays[0].trustRoots == nil)
        let good = try Self.configuration(f, url: "wss://relay.example", caFile: try Self.writeCA(f))
        #expect(good.relays[0].trustRoots?.count == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func diagnoseGivesTheSameLines() async throws {
        var diagnostics = RelayDiagnostics(logger: AgentFixture.logger)
        diagnostics.timeout = .seconds(3)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: try Self.serverContext()) { server in
            let d = await diagnostics.diagnose(server.url)
            #expect(!d.reachable)
            #expect(d.verdict == "unreachable: \(Self.untrusted)")
            #expect(d.text == "\(server.url): unreachable: \(Self.untrusted)")
        }
        let behaviour = ScriptedRelay.Behaviour(information: "{}", refusesUpgrade: true, onText: { _, _ in })
        try await ScriptedRelay.with(behaviour) { server in
            let d = await diagnostics.diagnose(server.url)
            #expect(d.verdict == "unreachable: HTTP 200 instead of a WebSocket upgrade: is this a relay URL?")
        }
        let port = try FreePort.pick()
        let refused = await diagnostics.diagnose(.built("ws://127.0.0.1:\(port)"))
        #expect(refused.verdict == "unreachable: \(Self.refused)")
    }
}
