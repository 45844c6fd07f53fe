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
    /// How long it waits for `wake` when nothing is due. In a cluster the events are mostly
    /// recorded by other agents, whose records cannot wake this one, so it asks more often there.
    var idleWait: Duration = .seconds(5)
    static let batchSize = 500

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let round = try await deliverDue()
            // A batch short of full took everything due when it was read; what was recorded since
            // has signalled `wake`, so asking the ledger again at once would only find it empty.
            if round.attempted < Self.batchSize {
                await cancelWhenGracefulShutdown { await wake.wait(timeout: idleWait) }
            }
        }
    }

    struct Round: Sendable {
        var attempted = 0
        /// Delivered, duplicate or permanently rejected: no longer pending.
        var settled = 0
    }

    /// Publishes one batch of due deliveries.
    func deliverDue() async throws -> Round {
        let url = relay.url
        let due = try await ledger.dueDeliveries(relay: url, limit: Self.batchSize, now: WallClock.unixNow())
        guard !due.isEmpty else { return Round() }
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
        try await ledger.recordDeliveryOutcomes(results, now: WallClock.unixNow(), noteSuccessOf: settled > 0 ? url : nil)
        tally(results)
        return Round(attempted: due.count, settled: settled)
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
                case .delivered: c.delivered[url, default: 0] += 1
                case .duplicate: c.duplicates[url, default: 0] += 1
                case let .rejected(reason): c.rejected[url, default: [:]][reason, default: 0] += 1
                case .retry: c.retried[url, default: 0] += 1
                }
            }
        }
        for r in results {
            if case let .rejected(reason) = r.outcome {
                logger.notice("delivery rejected", metadata: ["relay.url": "\(url)", "event.id": "\(r.eventID)", "reason": "\(reason)"])
            }
        }
    }
}
