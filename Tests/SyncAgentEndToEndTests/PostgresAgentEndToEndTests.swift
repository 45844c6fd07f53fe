import Foundation
import Ledger
import LedgerPostgres
import Media
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `run --once` on a PostgreSQL ledger against real relays on 127.0.0.1: the core path (backfill,
/// ledger, deliveries, reconciliation, archive) with no SQLite file anywhere.
@Suite(
    .serialized,
    .enabled(if: PostgresServer.isAvailable && (try? PeerEnvironment.venv()) != nil, "needs postgresql-15 and the test-peer virtual environment"))
struct PostgresAgentEndToEndTests {
    @Test func aOneShotRunMirrorsAndArchivesThroughAPostgresLedger() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let server = try await PostgresServer.shared()
        let settings = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase()))
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.nostrRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate(), stranger = SecretKey.generate()
        let wanted = try AgentFixture.notes(alice, count: 60)
        try await AgentFixture.seed(wanted + AgentFixture.notes(stranger, count: 10), into: primary.url)

        var config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], archive: true)
        config.postgresLedger = settings
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let summary = try await agent.runOnce()
        await agent.closeLedger()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.counters.new == 60)
        #expect(summary.counters.delivered[backup.url] == 60)
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey, stranger.publicKey]) == Set(wanted.map(\.id)))

        // The ledger is PostgreSQL's: everything recorded there, nothing owed, everything archived.
        let ledger = try await PostgresLedger.open(settings)
        #expect(try await ledger.eventCount() == 60)
        #expect(try await ledger.pendingCount(relay: nil) == 0)
        let archivedThrough = try await ledger.archivedThroughSeq()
        #expect(try await ledger.events(afterSeq: archivedThrough, limit: 10).isEmpty)
        await ledger.close()
        #expect(!FileManager.default.fileExists(atPath: f.directory.appendingPathComponent("ledger.sqlite").path))
        let archived = try ArchiveCheck.ids(in: f.directory.appendingPathComponent("archive"))
        #expect(archived.count == 60 && Set(archived) == Set(wanted.map(\.id)))

        // A second run finds nothing new and sends nothing again.
        let second = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let again = try await second.runOnce()
        await second.closeLedger()
        #expect(again.succeeded, "\(again.text)")
        #expect(again.counters.new == 0)
        #expect(again.counters.delivered.values.reduce(0, +) == 0)
    }

    @Test func whatThePostgresLedgerLacksIsRefusedInOneLine() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let server = try await PostgresServer.shared()
        var config = try f.configuration(pubkeys: [SecretKey.generate().publicKey], relays: [("ws://127.0.0.1:1", .primary)])
        config.postgresLedger = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase()))
        config.media = MediaConfiguration(directory: f.directory.appendingPathComponent("media").path)
        let error = await #expect(throws: ConfigError.self) { try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger) }
        #expect(error?.key == "media")
    }

    /// NIP-65 discovery on a PostgreSQL ledger: the author's relay list, found on an indexer, is
    /// cached in the shared ledger and the relays it names are backed up.
    @Test func discoveryCachesRelayListsInThePostgresLedger() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let server = try await PostgresServer.shared()
        let settings = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase()))
        let indexer = try await TestRelay.start(.nostrRelay)
        let written = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { for r in [indexer, written, backup] { r.stopNow() } }
        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let list = try alice.sign(kind: Kind.relayList, content: "", tags: [["r", written.url.normalized, "write"]], createdAt: now - 100)
        let notes = try AgentFixture.notes(alice, count: 20, start: now - 5_000)
        try await AgentFixture.seed([list], into: indexer.url)
        try await AgentFixture.seed(notes, into: written.url)

        var config = try f.configuration(pubkeys: [alice.publicKey], relays: [(backup.url, .backup)], indexers: [indexer.url])
        config.postgresLedger = settings
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let summary = try await agent.runOnce()
        await agent.closeLedger()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.discovered[written.url] == [alice.publicKey], "\(summary.text)")
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set((notes + [list]).map(\.id)))

        let ledger = try await PostgresLedger.open(settings)
        let cached = try await ledger.authorMetadata(kind: Kind.relayList, pubkeys: [alice.publicKey])
        #expect(try cached[alice.publicKey].map { try Event(json: $0.raw).id } == list.id)
        #expect(try await ledger.discoveryChecks([alice.publicKey])[alice.publicKey] != nil)
        #expect(try await ledger.relayHealthRecords()[backup.url] != nil)
        await ledger.close()
    }
}

/// The daemon on a PostgreSQL ledger: mirrors under its leases, keeps its heartbeat in `agents`,
/// and gives back what it holds on SIGTERM.
@Suite(.enabled(if: PostgresServer.isAvailable && (try? PeerEnvironment.venv()) != nil, "needs postgresql-15 and the test-peer virtual environment"))
struct PostgresDaemonTests {
    @Test func theDaemonHeartbeatsMirrorsAndGivesItsLeasesBackOnSIGTERM() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let server = try await PostgresServer.shared()
        let url = server.url(database: try server.createDatabase())
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.nostrRelay)
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        let wanted = try AgentFixture.notes(alice, count: 30)
        try await AgentFixture.seed(wanted, into: primary.url)
        _ = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])

        let agent = try AgentProcess.start(
            ["run", "--config", f.directory.appendingPathComponent("sync.json").path, "--ledger", url], logTo: f.directory.appendingPathComponent("agent.log"))
        defer { if agent.process.isRunning { agent.signal(SIGKILL) } }
        let ledger = try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: url))
        let id = AgentIdentity(host: ProcessInfo.processInfo.hostName, pid: agent.pid).id
        let mirrored = try await AgentFixture.waitFor(seconds: 30) {
            try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set(wanted.map(\.id))
        }
        let log = { (try? String(contentsOf: f.directory.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "" }
        #expect(mirrored, "\(log().suffix(2_000))")
        #expect(try await AgentFixture.waitFor(seconds: 10) { try await ledger.agents().contains { $0.id == id && $0.pid == agent.pid } })
        // Alone in its cluster, it holds the primary's read lease and the backup's delivery lease;
        // both are free again once it stops.
        let resources = ["deliver:\(backup.url)", "read:\(primary.url)"]
        #expect(
            try await AgentFixture.waitFor(seconds: 10) {
                try await ledger.leases().filter { $0.holder == id }.map(\.resource) == resources
            })
        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(timeout: .seconds(15)) == 0, "\(log().suffix(2_000))")
        #expect(try await ledger.leases().map(\.resource) == resources)
        #expect(try await ledger.leases().allSatisfy { $0.holder == nil })
        #expect(try await ledger.eventCount() == 30)
        #expect(try await ledger.pendingCount(relay: backup.url) == 0)
        await ledger.close()
    }
}
