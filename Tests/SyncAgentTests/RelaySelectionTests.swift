import NostrCore
import Testing

@testable import SyncAgent

@Suite struct RelaySelectionTests {
    // Figures recorded from relay health: a solid relay, a slow one, a flaky one, a rejecting one.
    let solid = RelayHealthFigures(uptimeRatio: 0.999, medianLatencyMs: 40, errorRate: 0.01, rejectionRate: 0, eventsServed: 120_000)
    let slow = RelayHealthFigures(uptimeRatio: 0.99, medianLatencyMs: 2_500, errorRate: 0.02, rejectionRate: 0, eventsServed: 50_000)
    let flaky = RelayHealthFigures(uptimeRatio: 0.55, medianLatencyMs: 60, errorRate: 0.4, rejectionRate: 0, eventsServed: 9_000)
    let picky = RelayHealthFigures(uptimeRatio: 0.999, medianLatencyMs: 45, errorRate: 0.01, rejectionRate: 0.8, eventsServed: 100_000)

    @Test func scoreOrdersByMeasuredEvidence() {
        let health = ["wss://solid": solid, "wss://slow": slow, "wss://flaky": flaky, "wss://picky": picky]
        let ranked = RelaySelection.rank(Array(health.keys), health: health)
        #expect(ranked.first == "wss://solid")
        #expect(ranked.last == "wss://flaky")
        #expect(RelaySelection.score(picky) < RelaySelection.score(solid))
        #expect(RelaySelection.score(slow) < RelaySelection.score(picky))
    }

    @Test func unmeasuredRanksBelowProvenAboveBroken() {
        let u = RelaySelection.score(.unmeasured)
        #expect(u < RelaySelection.score(solid))
        #expect(u > RelaySelection.score(flaky))
    }

    @Test func coverPicksSmallestSetThenBetterScore() {
        let writes = [
            "alice": ["wss://a", "wss://shared"],
            "bob": ["wss://b", "wss://shared"],
            "carol": ["wss://c"],
            "dave": [],
        ]
        let chosen = RelaySelection.cover(writeRelays: writes, health: [:])
        #expect(Set(chosen) == ["wss://shared", "wss://c"])
        // Each covered pubkey has one chosen write relay.
        for (who, relays) in writes where !relays.isEmpty {
            #expect(relays.contains(where: chosen.contains), "\(who) not covered")
        }
    }

    @Test func coverBreaksTiesOnHealth() {
        let writes = ["alice": ["wss://x", "wss://y"]]
        #expect(RelaySelection.cover(writeRelays: writes, health: ["wss://x": flaky, "wss://y": solid]) == ["wss://y"])
        #expect(RelaySelection.cover(writeRelays: writes, health: ["wss://x": solid, "wss://y": flaky]) == ["wss://x"])
    }

    @Test func capKeepsTheBestPerPubkey() {
        let writes = ["alice": ["wss://flaky", "wss://solid", "wss://slow"]]
        let capped = RelaySelection.capPerPubkey(writeRelays: writes, limit: 2, health: ["wss://flaky": flaky, "wss://solid": solid, "wss://slow": slow])
        #expect(capped["alice"] == ["wss://solid", "wss://slow"])
    }

    @Test func relayListMarkers() throws {
        let key = SecretKey.generate()
        let e = try key.sign(
            kind: 10002, content: "", tags: [["r", "wss://both"], ["r", "wss://w", "write"], ["r", "wss://r", "read"], ["p", "x"]], createdAt: 1)
        let list = try #require(RelayListMetadata(event: e))
        #expect(list.write == ["wss://both", "wss://w"])
        #expect(list.read == ["wss://both", "wss://r"])
        #expect(RelayListMetadata(event: try key.sign(kind: 1, content: "", createdAt: 1)) == nil)
    }
}
