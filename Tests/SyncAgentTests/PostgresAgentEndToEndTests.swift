import Foundation
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

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
        config.discover.enabled = true
        let error = await #expect(throws: ConfigError.self) { try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger) }
        #expect(error?.key == "discover")
    }
}
