import CoreMetrics
import Foundation
import Ledger
import NostrCore
import Prometheus
import RelayClient
import Synchronization

/// The agent's Prometheus metrics (docs/metrics.md), on swift-metrics over a registry of its
/// own, so two agents in one process (tests) never share counters. Counters are incremented where
/// things happen; gauges and what RelayClient counts are read at each scrape (`refresh`).
public final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Live events waiting for their first delivery, by ledger seq: when they arrived.
    private let arrivals = Mutex<[Int64: ContinuousClock.Instant]>([:])
    /// What RelayClient counted at the previous scrape, so its totals become counter increments.
    private let relaySeen = Mutex<[RelayURL: (invalid: Int, reconnects: Int)]>([:])
    private let archivedSeen = Mutex(0)
    /// The counters and timers bumped per event or delivery round, by name and labels: making one
    /// through the factory sanitizes its name and labels and looks it up in the registry under a
    /// lock, which a live note paid five times. Made on first use, as before, so a series never
    /// bumped is still not exposed.
    private let perEventCounters = Mutex<[MeterKey: CoreMetrics.Counter]>([:])
    private let perEventTimers = Mutex<[MeterKey: CoreMetrics.Timer]>([:])
    static let maxTrackedArrivals = 10_000

    private struct MeterKey: Hashable {
        var label: String
        var name: String
        var value: String
        var outcome: String?
    }

    /// `agent` labels `relaysync_agent_info`: the id and host that `status` lists for a cluster.
    public init(version: String = "unknown", commit: String = "unknown", agent: AgentIdentity = .current) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(15), .seconds(60),
        ]
        self.factory = factory
        Gauge(label: "relaysync_build_info", dimensions: [("version", version), ("commit", commit)], factory: factory).record(1)
        Gauge(label: "relaysync_agent_info", dimensions: [("agent_id", agent.id), ("host", agent.host)], factory: factory).record(1)
    }

    // MARK: where things happen

    func received(_ count: Int, new: Int, from relay: RelayURL) {
        guard count > 0 else { return }
        counter("relaysync_events_received_total", "relay", relay.normalized).increment(by: count)
        if new > 0 { counter("relaysync_events_new_total", "relay", relay.normalized).increment(by: new) }
    }

    /// Events new to the ledger, by scope ("authors", "inbox", "filters[N]").
    func recorded(byScope counts: [String: Int]) {
        for (scope, n) in counts where n > 0 {
            counter("relaysync_scope_events_new_total", "scope", scope).increment(by: n)
        }
    }

    func delivered(_ outcome: String, count: Int, to relay: RelayURL) {
        guard count > 0 else { return }
        counter("relaysync_deliveries_total", "relay", relay.normalized, outcome: outcome).increment(by: count)
    }

    /// The counter named `label` with the label `name` = `value` (and `outcome`), made once.
    private func counter(_ label: String, _ name: String, _ value: String, outcome: String? = nil) -> CoreMetrics.Counter {
        let key = MeterKey(label: label, name: name, value: value, outcome: outcome)
        if let made = perEventCounters.withLock({ $0[key] }) { return made }
        var dimensions = [(name, value)]
        if let outcome { dimensions.append(("outcome", outcome)) }
        let made = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        perEventCounters.withLock { $0[key] = made }
        return made
    }

    func reconciled(_ record: ReconciliationRecord) {
        let relay = [("relay", record.relay.normalized)]
        Counter(
            label: "relaysync_reconciliations_total",
            dimensions: relay + [("scope", record.scope), ("method", record.method.rawValue), ("result", record.error == nil ? "ok" : "failed")],
            factory: factory
        ).increment()
        Counter(label: "relaysync_reconciliation_differences_total", dimensions: relay + [("side", "missing_on_relay")], factory: factory)
            .increment(by: record.missingOnRelay)
        Counter(label: "relaysync_reconciliation_differences_total", dimensions: relay + [("side", "missing_in_ledger")], factory: factory)
            .increment(by: record.missingInLedger)
        Counter(label: "relaysync_lost_after_delivery_total", dimensions: relay, factory: factory).increment(by: record.lostAfterDelivery)
    }

    /// A live event was recorded for the first time: its delivery will say how long it took.
    func arrived(seq: Int64) {
        arrivals.withLock { a in
            if a.count >= Self.maxTrackedArrivals { a.removeAll(keepingCapacity: true) }
            a[seq] = .now
        }
    }

    /// Delivered: for a live event, the time from its arrival to the first relay's OK.
    func propagated(seq: Int64, to relay: RelayURL) {
        guard let start = arrivals.withLock({ $0.removeValue(forKey: seq) }) else { return }
        observe("relaysync_live_propagation_seconds", ContinuousClock.now - start, relay: relay)
    }

    func observe(_ name: String, _ duration: Duration, relay: RelayURL) {
        let key = MeterKey(label: name, name: "relay", value: relay.normalized)
        let timer =
            perEventTimers.withLock({ $0[key] })
            ?? {
                let made = Timer(label: name, dimensions: [("relay", relay.normalized)], factory: factory)
                perEventTimers.withLock { $0[key] = made }
                return made
            }()
        Self.record(duration, in: timer)
    }

    /// One relay's REQ-to-EOSE and EVENT-to-OK timers, made once for its connection's observer:
    /// a `Timer` made per observation looked its histogram up in the registry (a lock and a hash
    /// of name and labels) for every OK of a bulk delivery.
    func latencyObserver(relay: RelayURL) -> @Sendable (RelayConfiguration.LatencyKind, Duration) -> Void {
        let eose = Timer(label: "relaysync_req_to_eose_seconds", dimensions: [("relay", relay.normalized)], factory: factory)
        let ok = Timer(label: "relaysync_event_to_ok_seconds", dimensions: [("relay", relay.normalized)], factory: factory)
        return { kind, duration in Self.record(duration, in: kind == .reqToEOSE ? eose : ok) }
    }

    private static func record(_ duration: Duration, in timer: CoreMetrics.Timer) {
        let (seconds, attoseconds) = duration.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    // MARK: read at each scrape

    struct Snapshot: Sendable {
        var relays: [RelayHealth] = []
        var pending: [RelayURL: (count: Int, oldestAge: Int64?)] = [:]
        var ledgerBytes: Int64 = 0
        var ledgerEvents = 0
        var archive: (bytes: Int64, segments: Int)?
        var archived = 0
        var media: MediaCounts?
    }

    func refresh(_ s: Snapshot) {
        for h in s.relays {
            let relay = [("relay", h.url.normalized)]
            Gauge(label: "relaysync_relay_connected", dimensions: relay, factory: factory).record(h.state.isOpen ? 1 : 0)
            let before = relaySeen.withLock { seen in
                defer { seen[h.url] = (h.invalid, h.reconnects) }
                return seen[h.url] ?? (0, 0)
            }
            Counter(label: "relaysync_events_invalid_total", dimensions: relay, factory: factory).increment(by: max(0, h.invalid - before.invalid))
            Counter(label: "relaysync_relay_reconnects_total", dimensions: relay, factory: factory).increment(by: max(0, h.reconnects - before.reconnects))
        }
        for (relay, p) in s.pending {
            Gauge(label: "relaysync_deliveries_pending", dimensions: [("relay", relay.normalized)], factory: factory).record(p.count)
            Gauge(label: "relaysync_delivery_oldest_pending_age_seconds", dimensions: [("relay", relay.normalized)], factory: factory).record(p.oldestAge ?? 0)
        }
        Gauge(label: "relaysync_ledger_bytes", factory: factory).record(s.ledgerBytes)
        Gauge(label: "relaysync_ledger_events", factory: factory).record(s.ledgerEvents)
        let newlyArchived = archivedSeen.withLock { seen in
            defer { seen = s.archived }; return s.archived - seen
        }
        Counter(label: "relaysync_archived_events_total", factory: factory).increment(by: max(0, newlyArchived))
        if let archive = s.archive {
            Gauge(label: "relaysync_archive_bytes", factory: factory).record(archive.bytes)
            Gauge(label: "relaysync_archive_segments", factory: factory).record(archive.segments)
        }
        if let media = s.media {
            for (state, n) in [("kept", media.kept), ("pending", media.pending), ("failed", media.failed)] {
                Gauge(label: "relaysync_media_blobs", dimensions: [("state", state)], factory: factory).record(n)
            }
            Gauge(label: "relaysync_media_kept_bytes", factory: factory).record(media.keptBytes)
            for (reason, n) in media.failedByReason {
                Gauge(label: "relaysync_media_failed_blobs", dimensions: [("reason", reason)], factory: factory).record(n)
            }
            for (server, states) in media.mirrors {
                for (state, n) in states {
                    Gauge(label: "relaysync_media_mirrors", dimensions: [("server", server), ("state", state)], factory: factory).record(n)
                }
            }
        }
    }

    /// The Prometheus text exposition.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
