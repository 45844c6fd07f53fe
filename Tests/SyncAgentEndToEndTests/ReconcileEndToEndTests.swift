import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Set reconciliation against real relays on 127.0.0.1: LocalRelay answers NIP-77 and COUNT,
/// nostr-relay neither, so it is compared through REQ windows. Nothing here may depend on dates:
/// every case publishes events whose `created_at` a cursor would skip.
@Suite(.serialized) struct ReconcileEndToEndTests {
    static let now = Int64(Date().timeIntervalSince1970)

    @Test(arguments: [TestRelay.Flavor.localRelay, .nostrRelay])
    func aBackupThatLosesEventsIsRepairedByTheNextRun(_ flavor: TestRelay.Flavor) async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(flavor, options: .init(persistent: true))
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 300, start: Self.now - 10_000)
        try await AgentFixture.seed(notes, into: primary.url)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
        let first = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(first.succeeded, "\(first.text)")
        let expected = Set(notes.map(\.id))
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected)

        var random = SeededGenerator.fromEnvironment()
        let lost = Array(notes.map(\.id).shuffled(using: &random).prefix(30))
        try await backup.removeFromStore(lost)
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected.subtracting(lost))

        let second = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(second.succeeded, "\(second.text)")
        let found = try #require(second.reconciliations[backup.url])
        #expect(found.method == (flavor == .localRelay ? .nip77 : .req))
        #expect(found.missingOnRelay == 30 && found.lostAfterDelivery == 30 && found.requeued == 30, "\(found)")
        #expect(second.counters.delivered[backup.url] == 30)
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected)
        let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
        let line = try #require(status.relays.first { $0.url == backup.url })
        #expect(line.lostAfterDeliveryTotal == 30)
        #expect(line.lastReconciliation?.missingOnRelay == 30)
    }

    @Test(arguments: [TestRelay.Flavor.localRelay, .nostrRelay])
    func eventsImportedBehindTheBackfillCursorAreFetched(_ flavor: TestRelay.Flavor) async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(flavor)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate(), bob = SecretKey.generate()
        let first = try AgentFixture.notes(alice, count: 100, start: 1_700_000_000)
        try await AgentFixture.seed(first, into: primary.url)
        let config = try f.configuration(pubkeys: [alice.publicKey, bob.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
        #expect(try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce().succeeded)

        // Dated inside and below the range already backfilled, more than the catch-up overlap
        // below the newest event: a cursor never looks there again.
        let inside = try (0..<60).map { try alice.sign(kind: 1, content: "imported \($0)", createdAt: 1_699_990_000 + Int64($0)) }
        let older = try AgentFixture.notes(bob, count: 40, start: 1_500_000_000)
        try await AgentFixture.seed(inside + older, into: primary.url)

        let second = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(second.succeeded, "\(second.text)")
        let found = try #require(second.reconciliations[primary.url])
        #expect(found.missingInLedger == 100 && found.fetched == 100, "\(found)")
        #expect(second.counters.delivered[backup.url] == 100)
        let expected = Set((first + inside + older).map(\.id))
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey, bob.publicKey]) == expected)
    }

    @Test func withoutNIP77CountWindowsFindTheDifferences() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay, options: .init(persistent: true))
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 200, start: Self.now - 50_000)
        try await AgentFixture.seed(notes, into: primary.url)
        var config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
        config.reconcile.negentropy = false
        #expect(try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce().succeeded)

        let lost = notes.map(\.id).suffix(15)
        try await backup.removeFromStore(Array(lost))
        let backdated = try AgentFixture.notes(alice, count: 25, start: Self.now - 60_000)
        try await AgentFixture.seed(backdated, into: primary.url)

        let second = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(second.succeeded, "\(second.text)")
        let onPrimary = try #require(second.reconciliations[primary.url])
        let onBackup = try #require(second.reconciliations[backup.url])
        #expect(onPrimary.method == .countAndReq && onBackup.method == .countAndReq)
        #expect(onPrimary.missingInLedger == 25 && onPrimary.fetched == 25, "\(onPrimary)")
        #expect(onBackup.missingOnRelay == 15 && onBackup.requeued == 15, "\(onBackup)")
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set((notes + backdated).map(\.id)))
    }

    @Test func auditReportsGapsAndRepairsThem() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.nostrRelay)
        let backup = try await TestRelay.start(.localRelay, options: .init(persistent: true))
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 120, start: Self.now - 9_000)
        try await AgentFixture.seed(notes, into: primary.url)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
        #expect(try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce().succeeded)
        try await backup.removeFromStore(Array(notes.map(\.id).prefix(12)))
        try await AgentFixture.seed(try AgentFixture.notes(alice, count: 8, start: Self.now - 20_000), into: primary.url)

        let report = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).audit(repair: false)
        #expect(report.exitCode == 1, "\(report.text)")
        let backupLine = try #require(report.relays.first { $0.url == backup.url })
        let primaryLine = try #require(report.relays.first { $0.url == primary.url })
        #expect(backupLine.missingOnRelay == 12 && backupLine.method == .nip77)
        #expect(primaryLine.missingInLedger == 8 && primaryLine.method == .req)
        #expect(backupLine.relayEvents == 108 && primaryLine.relayEvents == 128)

        let repaired = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).audit(repair: true)
        #expect(repaired.exitCode == 0, "\(repaired.text)")
        let clean = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).audit(repair: false)
        #expect(clean.exitCode == 0, "\(clean.text)")
        #expect(clean.relays.allSatisfy { $0.missingOnRelay == 0 && $0.missingInLedger == 0 })
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]).count == 128)
    }
}
