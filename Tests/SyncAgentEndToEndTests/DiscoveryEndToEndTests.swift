import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// NIP-65 discovery against real relays on 127.0.0.1: a config with only an
/// author and an indexer backs up the author's notes from the relays their
/// relay list names, and follows a new relay list without a restart.
@Suite(.serialized) struct DiscoveryEndToEndTests {
    @Test func relayListWriteRelaysAreBackedUpAndANewListIsFollowedLive() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let indexer = try await TestRelay.start(.nostrRelay)
        let first = try await TestRelay.start(.localRelay)
        let second = try await TestRelay.start(.nostrRelay)
        let third = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { for r in [indexer, first, second, third, backup] { r.stopNow() } }

        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        // `third` is only where alice reads: her notes there are not hers to back up from it yet.
        let list = try alice.sign(
            kind: 10002, content: "", tags: [["r", first.url.normalized], ["r", second.url.normalized, "write"], ["r", third.url.normalized, "read"]],
            createdAt: now - 100)
        let onFirst = try AgentFixture.notes(alice, count: 40, start: now - 10_000)
        let onSecond = try AgentFixture.notes(alice, count: 30, start: now - 20_000)
        let onThird = try AgentFixture.notes(alice, count: 20, start: now - 30_000)
        try await AgentFixture.seed([list], into: indexer.url)
        try await AgentFixture.seed(onFirst, into: first.url)
        try await AgentFixture.seed(onSecond, into: second.url)
        try await AgentFixture.seed(onThird, into: third.url)

        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(backup.url, .backup)], indexers: [indexer.url])
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let daemon = Task { try await agent.runDaemon() }
        defer { daemon.cancel() }

        let phaseOne = Set((onFirst + onSecond + [list]).map(\.id))
        #expect(try await Self.waitUntil(backup.url, holds: phaseOne, author: alice.publicKey), "the named write relays were not backed up")
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]).isDisjoint(with: onThird.map(\.id)))

        // Alice now writes to `third` too; the agent must pick it up without a restart.
        let newList = try alice.sign(
            kind: 10002, content: "", tags: [["r", first.url.normalized], ["r", second.url.normalized], ["r", third.url.normalized]], createdAt: now)
        try await AgentFixture.seed([newList], into: indexer.url)
        #expect(
            try await Self.waitUntil(backup.url, holds: Set(onThird.map(\.id) + [newList.id]), author: alice.publicKey),
            "the relay named by the new list was not backed up")

        // With `third` followed live, a note published there arrives too.
        let fresh = try alice.sign(kind: 1, content: "written to the newly listed relay", createdAt: Int64(Date().timeIntervalSince1970))
        try await AgentFixture.seed([fresh], into: third.url)
        #expect(try await Self.waitUntil(backup.url, holds: [fresh.id], author: alice.publicKey), "a live note on the new relay was missed")

        daemon.cancel()
        _ = await daemon.result
        let report = try RelaysReport.make(configuration: config, ledger: try Ledger(path: config.ledgerPath.path))
        let discovered = report.relays.filter { $0.origin == "discovered" }
        #expect(Set(discovered.map(\.url)) == [first.url, second.url, third.url])
        #expect(discovered.allSatisfy { $0.pubkeys == [alice.publicKey] })
        #expect(report.relays.contains { $0.url == indexer.url && $0.origin == "indexer" && $0.health != nil })
        #expect(report.authorsWithRelayLists == 1)
    }

    @Test func oneShotReadsDiscoveredRelaysAndARestartUsesTheCachedList() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let indexer = try await TestRelay.start(.localRelay)
        let writes = try await TestRelay.start(.nostrRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { for r in [indexer, writes, backup] { r.stopNow() } }

        let alice = SecretKey.generate(), bob = SecretKey.generate()
        let list = try alice.sign(
            kind: 10002, content: "", tags: [["r", writes.url.normalized], ["r", "https://not-a-relay.example"]], createdAt: 1_700_000_000)
        let alices = try AgentFixture.notes(alice, count: 25)
        let notes = try alices + AgentFixture.notes(bob, count: 10)
        try await AgentFixture.seed([list], into: indexer.url)
        try await AgentFixture.seed(notes, into: writes.url)

        let config = try f.configuration(pubkeys: [alice.publicKey, bob.publicKey], relays: [(backup.url, .backup)], indexers: [indexer.url])
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.discovered == [writes.url.normalized: [alice.publicKey]])
        #expect(summary.discoverySkipped["https://not-a-relay.example"] != nil)
        // Bob has no relay list, so his notes on that relay are not his backup's business.
        let expected = Set(alices.map(\.id) + [list.id])
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey, bob.publicKey]) == expected)

        // The indexer is gone; within the refresh interval the cached list still drives the run.
        indexer.stopNow()
        let checked = try Ledger(path: config.ledgerPath.path).discoveryChecks([alice.publicKey, bob.publicKey])
        let fresh = try alice.sign(kind: 1, content: "after the restart", createdAt: 1_700_100_000)
        try await AgentFixture.seed([fresh], into: writes.url)
        let again = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger, onceGiveUp: .seconds(10)).runOnce()
        #expect(again.succeeded, "\(again.text)")
        #expect(again.discovered == [writes.url.normalized: [alice.publicKey]])
        #expect(again.counters.new == 1, "\(again.text)")
        #expect(try Ledger(path: config.ledgerPath.path).discoveryChecks([alice.publicKey, bob.publicKey]) == checked)
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]).contains(fresh.id))
    }

    @Test func anUnansweredRelayListQueryFailsTheOneShotRun() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let backup = try await TestRelay.start(.localRelay)
        defer { backup.stopNow() }
        let silent = RelayURL.built("ws://127.0.0.1:\(try FreePort.pick())")
        let config = try f.configuration(pubkeys: [SecretKey.generate().publicKey], relays: [(backup.url, .backup)], indexers: [silent])
        // The query's bound, not its length, is what fails the run: 3 s instead of the product's 20.
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger, discoveryAskTimeout: .seconds(3)).runOnce()
        // Nothing could be learned about where the author publishes: the backup cannot be complete.
        #expect(!summary.succeeded)
        #expect(summary.failures[.relay(silent)] == "no answer to the relay-list query", "\(summary.text)")
        #expect(try Ledger(path: config.ledgerPath.path).discoveryChecks(config.pubkeys).isEmpty, "the author stays due a check")
    }

    /// Polls the relay until it holds `ids` (bounded: 45 s).
    static func waitUntil(_ url: RelayURL, holds ids: Set<String>, author: String) async throws -> Bool {
        try await AgentFixture.waitFor(seconds: 45) { try await AgentFixture.ids(on: url, authors: [author]).isSuperset(of: ids) }
    }
}
