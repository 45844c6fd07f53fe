import Foundation
import Ledger
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Scopes beyond the authors' own, against real relays: a hashtag (`#t`) and a NIP-29 group
/// (`#h`) named as NIP-01 filters are mirrored exactly, including events backdated behind the
/// backfill cursor, which only a comparison of sets with tag filters finds.
@Suite(.serialized) struct FilterScopeEndToEndTests {
    static let now = Int64(Date().timeIntervalSince1970)

    /// Each relay flavour on the SQLite ledger, and LocalRelay on the PostgreSQL one (its scope
    /// indexes), when postgresql-15 is there.
    static let cases: [(TestRelay.Flavor, Bool)] =
        [(.localRelay, false), (.nostrRelay, false)] + (PostgresServer.isAvailable ? [(.localRelay, true)] : [])

    @Test(arguments: cases)
    func aHashtagAndAGroupAreMirroredExactlyBackdatedEventsIncluded(_ flavor: TestRelay.Flavor, onPostgres: Bool) async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(flavor)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate(), bob = SecretKey.generate(), carol = SecretKey.generate()
        func sign(_ key: SecretKey, _ n: Int, kind: Int = 1, tags: [[String]], start: Int64) throws -> [Event] {
            try (0..<n).map { try key.sign(kind: kind, content: "\(kind) \($0) \(tags)", tags: tags, createdAt: start + Int64($0)) }
        }
        let own = try sign(alice, 10, tags: [], start: Self.now - 5_000)
        let topic = try sign(bob, 40, tags: [["t", "relaysync-topic"]], start: Self.now - 4_000)
        let group = try sign(carol, 25, kind: 9, tags: [["h", "grp1"]], start: Self.now - 3_000)
        // Outside every scope: another hashtag, the group's id on another kind, another group.
        let noise =
            try sign(bob, 10, tags: [["t", "elsewhere"]], start: Self.now - 2_000) + sign(carol, 5, tags: [["h", "grp1"]], start: Self.now - 1_000)
            + sign(carol, 5, kind: 9, tags: [["h", "grp2"]], start: Self.now - 900)
        try await AgentFixture.seed(own + topic + group + noise, into: primary.url)

        let filters: JSONValue = .array([
            .object([("#t", .array([.string("relaysync-topic")]))]),
            .object([("kinds", .array([.int(9)])), ("#h", .array([.string("grp1")]))]),
        ])
        var config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], extra: [("filters", filters)])
        if onPostgres {
            let server = try await PostgresServer.shared()
            config.postgresLedger = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase()))
        }
        let firstRunner = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let first = try await firstRunner.runOnce()
        await firstRunner.closeLedger()
        #expect(first.succeeded, "\(first.text)")
        let everyone = [alice.publicKey, bob.publicKey, carol.publicKey]
        #expect(try await AgentFixture.ids(on: backup.url, authors: everyone) == Set((own + topic + group).map(\.id)))
        #expect(first.scopeEvents == ["authors": 10, "filters[0]": 40, "filters[1]": 25], "\(first.text)")

        // Imported behind every cursor, years back: dates would never find them.
        let lateTopic = try sign(bob, 15, tags: [["t", "relaysync-topic"]], start: 1_500_000_000)
        let lateGroup = try sign(carol, 12, kind: 9, tags: [["h", "grp1"]], start: 1_500_100_000)
        try await AgentFixture.seed(lateTopic + lateGroup + sign(bob, 3, tags: [["t", "elsewhere"]], start: 1_500_200_000), into: primary.url)

        let secondRunner = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let second = try await secondRunner.runOnce()
        await secondRunner.closeLedger()
        #expect(second.succeeded, "\(second.text)")
        let found = Dictionary(second.scopeReconciliations.filter { $0.relay == primary.url }.map { ($0.scope, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(found["filters[0]"]?.fetched == 15, "\(second.text)")
        #expect(found["filters[1]"]?.fetched == 12, "\(second.text)")
        #expect(found["filters[0]"]?.method == (flavor == .localRelay ? .nip77 : .req))
        #expect(try await AgentFixture.ids(on: backup.url, authors: everyone) == Set((own + topic + group + lateTopic + lateGroup).map(\.id)))
        #expect(second.scopeEvents == ["authors": 10, "filters[0]": 55, "filters[1]": 37], "\(second.text)")
    }

    @Test func aRequestToVanishStopsReconciliationPushingTheAuthorsEventsBackToThatRelayOnly() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let gone = try await TestRelay.start(.localRelay, options: .init(unboundedMemory: true))
        let kept = try await TestRelay.start(.localRelay, options: .init(unboundedMemory: true))
        defer { primary.stopNow(); gone.stopNow(); kept.stopNow() }

        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 40, start: Self.now - 10_000)
        try await AgentFixture.seed(notes, into: primary.url)
        let config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (gone.url, .backup), (kept.url, .backup)])
        #expect(try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce().succeeded)

        let vanish = try alice.sign(kind: Kind.requestToVanish, content: "please forget me", tags: [["relay", gone.url.normalized]], createdAt: Self.now)
        try await AgentFixture.seed([vanish], into: primary.url)
        // Both backups lose ten notes behind the agent's back.
        let lost = Array(notes.prefix(10).map(\.id))
        try await gone.forget(lost)
        try await kept.forget(lost)
        let before = try await AgentFixture.ids(on: gone.url, authors: [alice.publicKey])

        let second = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(second.succeeded, "\(second.text)")
        let onGone = try await AgentFixture.ids(on: gone.url, authors: [alice.publicKey])
        #expect(onGone.subtracting([vanish.id]).isSubset(of: before), "nothing of alice's went back to the relay she asked to forget her")
        #expect(onGone.isDisjoint(with: lost))
        #expect(try await AgentFixture.ids(on: kept.url, authors: [alice.publicKey]) == Set(notes.map(\.id) + [vanish.id]))
        #expect(second.reconciliations[gone.url]?.requeued == 0, "\(second.text)")
        #expect(second.reconciliations[kept.url]?.requeued == 10, "\(second.text)")
        let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
        #expect(status.vanish.map(\.relay) == [gone.url.normalized])
    }
}
