import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// The daemon against real relays: notes of any date published while it runs reach every relay,
/// across a primary restart, and a backup that loses events is repaired within one reconcile
/// interval. No test waits for the daemon to be "ready": whatever it misses, reconciliation finds.
@Suite(.serialized) struct ReconcileDaemonTests {
    static let day: Int64 = 86_400

    static func withDaemon<T>(_ config: SyncConfiguration, _ body: (SyncAgentRunner) async throws -> T) async throws -> T {
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let daemon = Task { try await agent.runDaemon() }
        do {
            let result = try await body(agent)
            daemon.cancel()
            _ = await daemon.result
            return result
        } catch {
            daemon.cancel()
            _ = await daemon.result
            throw error
        }
    }

    @Test func backdatedAndFutureDatedNotesReachTheBackupAcrossAPrimaryRestart() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay, options: .init(persistent: true))
        let backup = try await TestRelay.start(.nostrRelay)
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)],
            reconcileInterval: "2s")
        try await Self.withDaemon(config) { _ in
            let monthOld = try AgentFixture.notes(alice, count: 20, start: now - 30 * Self.day)
            let ahead = try AgentFixture.notes(alice, count: 10, start: now + 600)
            try await AgentFixture.seed(monthOld + ahead, into: primary.url)
            try await primary.restart()
            let current = try AgentFixture.notes(alice, count: 20, start: now)
            let rebroadcast = try (0..<10).map { try alice.sign(kind: 1, content: "old again \($0)", createdAt: now - 30 * Self.day + 100 + Int64($0)) }
            try await AgentFixture.seed(current + rebroadcast, into: primary.url)

            let expected = Set((monthOld + ahead + current + rebroadcast).map(\.id))
            let converged = try await AgentFixture.waitFor(seconds: 60) {
                try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected
            }
            let held = try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey])
            #expect(converged, "backup holds \(held.count) of \(expected.count)")
        }
        let ledger = try Ledger(path: config.ledgerPath.path)
        #expect(try ledger.eventCount() == 60)
    }

    @Test func threeBothRelaysConvergeOnBackdatedNotes() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let relays = [try await TestRelay.start(.localRelay), try await TestRelay.start(.nostrRelay), try await TestRelay.start(.localRelay)]
        defer { for r in relays { r.stopNow() } }
        let alice = SecretKey.generate(), bob = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let config = try f.configuration(
            pubkeys: [alice.publicKey, bob.publicKey], relays: relays.map { ($0.url, RelayRole.both) },
            reconcileInterval: "2s")
        try await Self.withDaemon(config) { agent in
            var all: [Event] = []
            for (i, relay) in relays.enumerated() {
                let key = i == 1 ? bob : alice
                let notes = try (0..<50).map { try key.sign(kind: 1, content: "relay \(i) note \($0)", createdAt: now - 3 * Self.day + Int64(i * 100 + $0)) }
                try await AgentFixture.seed(notes, into: relay.url)
                all += notes
            }
            let expected = Set(all.map(\.id))
            for relay in relays {
                let converged = try await AgentFixture.waitFor(seconds: 60) {
                    try await AgentFixture.ids(on: relay.url, authors: [alice.publicKey, bob.publicKey]) == expected
                }
                let held = try await AgentFixture.ids(on: relay.url, authors: [alice.publicKey, bob.publicKey])
                #expect(converged, "\(relay.url) holds \(held.count) of 150")
            }
            // Each relay received the 100 it lacked once; nothing went back where it came from.
            let snapshot = agent.counters.snapshot
            for relay in relays {
                #expect((snapshot.delivered[relay.url] ?? 0) + (snapshot.duplicates[relay.url] ?? 0) <= 100)
            }
        }
    }

    @Test func aBackupThatLosesEventsIsRepairedWithinOneInterval() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay, options: .init(persistent: true))
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 100, start: Int64(Date().timeIntervalSince1970) - 5_000)
        try await AgentFixture.seed(notes, into: primary.url)
        let config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)],
            reconcileInterval: "2s")
        let expected = Set(notes.map(\.id))
        try await Self.withDaemon(config) { agent in
            #expect(try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected })
            var random = SeededGenerator.fromEnvironment()
            let lost = Array(notes.map(\.id).shuffled(using: &random).prefix(20))
            try await backup.removeFromStore(lost)
            let repaired = try await AgentFixture.waitFor(seconds: 30) {
                try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected
            }
            #expect(repaired)
            #expect(agent.counters.snapshot.delivered[backup.url] == 120)
        }
        let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
        #expect(status.relays.first { $0.url == backup.url }?.lostAfterDeliveryTotal == 20)
    }
}
