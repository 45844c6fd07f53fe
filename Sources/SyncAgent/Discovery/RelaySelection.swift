import Foundation
import NostrCore

/// Chooses relays on measured evidence (the discovery issue's strategies).
public enum RelaySelection {
    /// Higher is better, in 0...1. Uptime weighs most (a relay that is down
    /// serves nothing), then errors and rejections, then latency; events
    /// served breaks ties between otherwise equal relays.
    public static func score(_ h: RelayHealthFigures) -> Double {
        let uptime = max(0, min(1, h.uptimeRatio))
        let latency = h.medianLatencyMs.map { 1 / (1 + $0 / 500) } ?? 0.7
        let errors = 1 - max(0, min(1, h.errorRate))
        let rejections = 1 - 0.5 * max(0, min(1, h.rejectionRate))
        let evidence = 0.9 + 0.1 * min(1, log10(1 + Double(h.eventsServed)) / 5)
        return uptime * uptime * latency * errors * rejections * evidence
    }

    /// Relays ranked best first; equal scores keep URL order so results are stable.
    public static func rank<Address: Hashable & Comparable>(_ relays: [Address], health: [Address: RelayHealthFigures]) -> [Address] {
        relays.map { ($0, score(health[$0] ?? .unmeasured)) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .map(\.0)
    }

    /// The smallest set of relays (greedy set cover, ties to the better
    /// score) that holds at least one write relay of every pubkey.
    /// Pubkeys with no write relay are ignored.
    public static func cover<Address: Hashable & Comparable>(writeRelays: [String: [Address]], health: [Address: RelayHealthFigures]) -> [Address] {
        var uncovered = Set(writeRelays.filter { !$0.value.isEmpty }.keys)
        var chosen: [Address] = []
        let candidates = Set(writeRelays.values.flatMap { $0 })
        while !uncovered.isEmpty {
            var best: (url: Address, covers: Int, score: Double)?
            for url in candidates.sorted() where !chosen.contains(url) {
                let covers = uncovered.filter { writeRelays[$0, default: []].contains(url) }.count
                guard covers > 0 else { continue }
                let s = score(health[url] ?? .unmeasured)
                if best == nil || covers > best!.covers || (covers == best!.covers && s > best!.score) {
                    best = (url, covers, s)
                }
            }
            guard let pick = best else { break }
            chosen.append(pick.url)
            uncovered = uncovered.filter { !writeRelays[$0, default: []].contains(pick.url) }
        }
        return chosen
    }

    /// For each pubkey, its best `limit` write relays (configured relays are
    /// handled by the caller and always win over discovered ones).
    public static func capPerPubkey<Address: Hashable & Comparable>(writeRelays: [String: [Address]], limit: Int, health: [Address: RelayHealthFigures])
        -> [String: [Address]]
    {
        writeRelays.mapValues { Array(rank($0, health: health).prefix(limit)) }
    }
}
