import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle

/// Mirrors pending events to one writable relay: takes due deliveries from
/// the ledger (a persistent queue), publishes them through the relay's
/// in-flight window, and records each outcome. A crash re-sends at most the
/// batch that was in flight.
struct DeliveryService: Service {
    let relay: Relay
    let ledger: any AgentLedgerStore
    let counters: AgentCounters
    let wake: WakeSignal
    let logger: Logger
    var metrics: AgentMetrics?
    var policy = DeliveryPolicy()
    /// The longest it waits for `wake` when nothing is due; nil when every new delivery wakes it.
    /// In a cluster the events are mostly recorded by other agents, whose records cannot wake
    /// this one, so it asks again on this bound there.
    var idleWait: Duration? = nil
    static let batchSize = 500

    func run() async throws {
        // Retries left waiting by an earlier run: the first of them is the first time to look.
        var retries = RetrySchedule(next: try await ledger.nextDeliveryDue(relay: relay.url))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let round = try await deliverDue()
            // A batch short of full took everything due when it was read; what was recorded since
            // has signalled `wake`. Otherwise only a retry falling due needs a look, so the loop
            // sleeps until the first one (or for good when none waits) unless woken.
            if round.attempted < Self.batchSize {
                retries.roundTookEverythingDue(at: round.readAt, retryingAt: round.earliestRetry)
                let timeout = [retries.wait(now: WallClock.unixNow()), idleWait].compactMap { $0 }.min()
                await cancelWhenGracefulShutdown { await wake.wait(timeout: timeout) }
            } else {
                retries.note(round.earliestRetry)
            }
        }
    }

    struct Round: Sendable {
        var attempted = 0
        /// Delivered, duplicate or permanently rejected: no longer pending.
        var settled = 0
        /// When the due deliveries were read (unix seconds).
        var readAt: Int64 = 0
        /// When the first delivery this round scheduled again falls due (unix seconds).
        var earliestRetry: Int64?
    }

    /// Publishes one batch of due deliveries.
    func deliverDue() async throws -> Round {
        let url = relay.url
        let readAt = WallClock.unixNow()
        let due = try await ledger.dueDeliveries(relay: url, limit: Self.batchSize, now: readAt)
        guard !due.isEmpty else { return Round(readAt: readAt) }
        var events: [OutboundEvent] = []
        var sent: [PendingDelivery] = []
        var results: [DeliveryResult] = []
        events.reserveCapacity(due.count)
        sent.reserveCapacity(due.count)
        results.reserveCapacity(due.count)
        let content = RelayContentPolicy(information: await relay.information(), hasKey: relay.configuration.authKey != nil)
        for d in due {
            if let refusal = content.refusal(kind: d.kind) {
                results.append(DeliveryResult(eventID: d.eventID, relay: url, outcome: .rejected(refusal), seq: d.seq))
                continue
            }
            // The ledger keeps only verified text, so it is sent as stored, without parsing it again.
            events.append(OutboundEvent(id: d.eventID, rawJSON: d.rawJSON))
            sent.append(d)
        }
        let outcomes = await relay.publish(events)
        for d in sent {
            results.append(policy.result(for: outcomes[d.eventID] ?? .timedOut, eventID: d.eventID, relay: url, attempts: d.attempts, seq: d.seq))
        }
        let settled = results.filter { if case .retry = $0.outcome { false } else { true } }.count
        let recordedAt = WallClock.unixNow()
        try await ledger.recordDeliveryOutcomes(results, now: recordedAt, noteSuccessOf: settled > 0 ? url : nil)
        tally(results)
        let earliestRetry = results.compactMap { r -> Int64? in
            if case let .retry(_, delay) = r.outcome { recordedAt + delay } else { nil }
        }.min()
        return Round(attempted: due.count, settled: settled, readAt: readAt, earliestRetry: earliestRetry)
    }

    private func tally(_ results: [DeliveryResult]) {
        let url = relay.url
        if let metrics {
            var byOutcome: [String: Int] = [:]
            for r in results {
                switch r.outcome {
                case .delivered:
                    byOutcome["delivered", default: 0] += 1
                    metrics.propagated(seq: r.seq, to: url)
                case .duplicate: byOutcome["duplicate", default: 0] += 1
                case .rejected: byOutcome["rejected", default: 0] += 1
                case .retry: byOutcome["retried", default: 0] += 1
                }
            }
            for (outcome, n) in byOutcome { metrics.delivered(outcome, count: n, to: url) }
        }
        counters.update { c in
            for r in results {
                switch r.outcome {
                case .delivered: c.delivered[url.normalized, default: 0] += 1
                case .duplicate: c.duplicates[url.normalized, default: 0] += 1
                case let .rejected(reason): c.rejected[url.normalized, default: [:]][reason, default: 0] += 1
                case .retry: c.retried[url.normalized, default: 0] += 1
                }
            }
        }
        for r in results {
            if case let .rejected(reason) = r.outcome {
                logger.notice("delivery rejected", metadata: ["event.id": "\(r.eventID)", "reason": "\(reason)"])
            }
        }
    }
}
