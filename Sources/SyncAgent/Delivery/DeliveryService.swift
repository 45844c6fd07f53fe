import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle
import Synchronization

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
    /// The daemon's loop on the SQLite ledger: live notes arrive here as the writer recorded them
    /// and are published without a ledger read; their outcomes ride the writer's next transaction.
    var handoff: DeliveryHandoff? = nil
    /// How long outcomes may wait for a transaction to ride in (`Ledger.recordDeliveryOutcomesLater`).
    static let outcomesWithin: Duration = .seconds(1)
    static let batchSize = 500

    func run() async throws {
        if let handoff, let sqlite = ledger as? Ledger { return try await run(handoff, sqlite) }
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
        /// The highest seq attempted.
        var lastSeq: Int64 = 0
        /// Rows from the hand-off rather than a ledger read.
        var fromHandoff = true
    }

    /// With a hand-off: the ledger is read at start, after a full batch, when a retry falls due,
    /// when anyone but the hand-off signalled `wake`, and when the hand-off went stale; otherwise
    /// the rows handed over are what is due. Before each read the outcomes still waiting for a
    /// transaction are committed, so the read does not return what was just sent.
    private func run(_ handoff: DeliveryHandoff, _ sqlite: Ledger) async throws {
        handoff.open()
        let outcomes = OutcomesInFlight()
        defer { handoff.close() }
        var retries = RetrySchedule(next: try await ledger.nextDeliveryDue(relay: relay.url))
        // The highest seq the last read of the ledger saw: every row pending up to it was read.
        var readThrough: Int64 = 0
        var signalsSeen = -1
        var next = DeliveryHandoff.Next.readLedger
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let round: Round
            if case let .rows(rows) = next {
                // What a kill -9 would have sent again stays within one batch: the outcomes not yet
                // committed and the rows about to go out.
                if outcomes.count + rows.count > Self.batchSize { try await sqlite.commitWaitingWrites() }
                round = try await deliver(rows, readAt: WallClock.unixNow(), settling: (sqlite, outcomes))
                retries.note(round.earliestRetry)
            } else {
                try await sqlite.commitWaitingWrites()
                handoff.discard()
                signalsSeen = wake.signals
                round = try await deliverDue(settling: (sqlite, outcomes))
                readThrough = max(readThrough, round.lastSeq)
                if round.attempted < Self.batchSize {
                    retries.roundTookEverythingDue(at: round.readAt, retryingAt: round.earliestRetry)
                } else {
                    retries.note(round.earliestRetry)
                }
            }
            if round.attempted >= Self.batchSize, !round.fromHandoff {
                next = .readLedger
                continue
            }
            next = handoff.take(after: readThrough, limit: Self.batchSize)
            if next == .rows([]) {
                let timeout = retries.wait(now: WallClock.unixNow())
                await cancelWhenGracefulShutdown { await wake.wait(timeout: timeout) }
                next = handoff.take(after: readThrough, limit: Self.batchSize)
            }
            let retryDue = retries.next.map { $0 <= WallClock.unixNow() } ?? false
            if retryDue || wake.signals != signalsSeen || outcomes.failed { next = .readLedger }
        }
        // Shutdown: what was delivered is written down before the ledger closes.
        try await sqlite.commitWaitingWrites()
    }

    /// Publishes one batch of due deliveries.
    func deliverDue() async throws -> Round {
        try await deliverDue(settling: nil)
    }

    private func deliverDue(settling: (Ledger, OutcomesInFlight)?) async throws -> Round {
        let readAt = WallClock.unixNow()
        let due = try await ledger.dueDeliveries(relay: relay.url, limit: Self.batchSize, now: readAt)
        var round = try await deliver(due, readAt: readAt, settling: settling)
        round.fromHandoff = false
        return round
    }

    /// Publishes `due` and records the outcomes: at once, or with `settling` in the writer's next
    /// transaction.
    private func deliver(_ due: [PendingDelivery], readAt: Int64, settling: (Ledger, OutcomesInFlight)?) async throws -> Round {
        let url = relay.url
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
            events.append(OutboundEvent(id: d.eventID, text: d.text))
            sent.append(d)
        }
        let outcomes = await relay.publish(events)
        for d in sent {
            results.append(policy.result(for: outcomes[d.eventID] ?? .timedOut, eventID: d.eventID, relay: url, attempts: d.attempts, seq: d.seq))
        }
        let settled = results.filter { if case .retry = $0.outcome { false } else { true } }.count
        let recordedAt = WallClock.unixNow()
        if case let (sqlite, inFlight)? = settling {
            let n = results.count
            inFlight.add(n)
            let logger = logger
            sqlite.recordDeliveryOutcomesLater(results, now: recordedAt, noteSuccessOf: settled > 0 ? url : nil, within: Self.outcomesWithin) {
                error in
                inFlight.settled(n, failed: error != nil)
                if let error { logger.error("delivery outcomes not recorded", metadata: ["error": "\(error)"]) }
            }
        } else {
            try await ledger.recordDeliveryOutcomes(results, now: recordedAt, noteSuccessOf: settled > 0 ? url : nil)
        }
        tally(results)
        let earliestRetry = results.compactMap { r -> Int64? in
            if case let .retry(_, delay) = r.outcome { recordedAt + delay } else { nil }
        }.min()
        return Round(attempted: due.count, settled: settled, readAt: readAt, earliestRetry: earliestRetry, lastSeq: due.map(\.seq).max() ?? 0)
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

/// Outcomes handed to the ledger's writer and not yet committed: how many (the loop commits
/// them itself past a batch's worth), and whether any failed (the loop then reads the ledger,
/// where those deliveries are still pending).
final class OutcomesInFlight: Sendable {
    private let state = Mutex<(count: Int, failed: Bool)>((0, false))

    var count: Int { state.withLock { $0.count } }

    /// Taken (and cleared) by the loop.
    var failed: Bool {
        state.withLock { s in
            defer { s.failed = false }
            return s.failed
        }
    }

    func add(_ n: Int) { state.withLock { $0.count += n } }

    func settled(_ n: Int, failed: Bool) {
        state.withLock { s in
            s.count -= n
            if failed { s.failed = true }
        }
    }
}
