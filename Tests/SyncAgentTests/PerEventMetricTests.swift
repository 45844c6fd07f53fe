import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

/// The counters and timers bumped per event and per delivery round are made once and reused:
/// their totals still add up, each relay, outcome and scope stays its own series, and a series
/// never bumped is still not exposed.
@Suite struct PerEventMetricTests {
    @Test func reusedCountersAddUpPerRelayOutcomeAndScope() {
        let metrics = AgentMetrics()
        let a: RelayURL = "ws://127.0.0.1:7001"
        let b: RelayURL = "ws://127.0.0.1:7002"
        metrics.delivered("delivered", count: 2, to: a)
        metrics.delivered("delivered", count: 3, to: a)
        metrics.delivered("delivered", count: 1, to: b)
        metrics.delivered("retried", count: 4, to: a)
        metrics.received(5, new: 2, from: a)
        metrics.received(1, new: 0, from: a)
        metrics.recorded(byScope: ["authors": 2])
        metrics.recorded(byScope: ["authors": 1, "inbox": 1])
        for seq in [Int64(1), 2] { metrics.arrived(seq: seq) }
        metrics.propagated(seq: 1, to: a)
        metrics.propagated(seq: 2, to: a)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)

        /// The value of the one series named `name` whose labels include all of `labels`.
        func value(_ name: String, _ labels: [String]) -> Double? {
            let lines = text.split(separator: "\n").filter { line in
                line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
            }
            guard lines.count == 1 else { return nil }
            return lines[0].split(separator: " ").last.flatMap { Double($0) }
        }
        let relayA = #"relay="\#(a.normalized)""#
        let relayB = #"relay="\#(b.normalized)""#
        #expect(value("relaysync_deliveries_total", [relayA, #"outcome="delivered""#]) == 5, "\(text)")
        #expect(value("relaysync_deliveries_total", [relayB, #"outcome="delivered""#]) == 1, "\(text)")
        #expect(value("relaysync_deliveries_total", [relayA, #"outcome="retried""#]) == 4, "\(text)")
        #expect(!text.contains(#"outcome="rejected""#), "\(text)")
        #expect(!text.contains(#"outcome="duplicate""#), "\(text)")
        #expect(value("relaysync_events_received_total", [relayA]) == 6, "\(text)")
        #expect(value("relaysync_events_new_total", [relayA]) == 2, "\(text)")
        #expect(value("relaysync_scope_events_new_total", [#"scope="authors""#]) == 3, "\(text)")
        #expect(value("relaysync_scope_events_new_total", [#"scope="inbox""#]) == 1, "\(text)")
        #expect(value("relaysync_live_propagation_seconds_count", [relayA]) == 2, "\(text)")
        #expect(!text.contains("relaysync_live_propagation_seconds_count{\(relayB)"), "\(text)")
    }
}
