import Ledger
import Logging
import NostrCore
import PostgresNIO

extension PostgresConnection {
    /// Settles the pending rows the outcomes name: the same statements with or without a lease,
    /// at most two per batch (settled, retried). A row no longer pending (seen on the relay
    /// meanwhile) is left as it is.
    func settleDeliveries(_ results: [DeliveryResult], now: Int64, logger: Logger) async throws {
        var relays: [String] = [], seqs: [Int64] = [], states: [String] = [], reasons: [String] = [], hasReason: [Bool] = []
        var retryRelays: [String] = [], retrySeqs: [Int64] = [], retryReasons: [String] = [], retryAt: [Int64] = []
        for r in results {
            let settled: (DeliveryState, String?)
            switch r.outcome {
            case .delivered: settled = (.delivered, nil)
            case .duplicate: settled = (.duplicate, nil)
            case let .rejected(reason): settled = (.rejected, reason)
            case let .retry(reason, after):
                retryRelays.append(r.relay.normalized)
                retrySeqs.append(r.seq)
                retryReasons.append(reason)
                retryAt.append(now + max(0, after))
                continue
            }
            relays.append(r.relay.normalized)
            seqs.append(r.seq)
            states.append(settled.0.rawValue)
            reasons.append(settled.1 ?? "")
            hasReason.append(settled.1 != nil)
        }
        if !relays.isEmpty {
            try await exec(
                """
                UPDATE deliveries d SET state = u.state, reason = CASE WHEN u.has_reason THEN u.reason END, attempts = d.attempts + 1, updated_at = \(now)
                FROM unnest(\(relays)::text[], \(seqs)::int8[], \(states)::text[], \(reasons)::text[], \(hasReason)::bool[]) AS u(relay, seq, state, reason, has_reason)
                WHERE d.relay = u.relay AND d.seq = u.seq AND d.state = 'pending'
                """, logger: logger)
        }
        if !retryRelays.isEmpty {
            try await exec(
                """
                UPDATE deliveries d SET reason = u.reason, attempts = d.attempts + 1, next_attempt_at = u.next_attempt_at, updated_at = \(now)
                FROM unnest(\(retryRelays)::text[], \(retrySeqs)::int8[], \(retryReasons)::text[], \(retryAt)::int8[]) AS u(relay, seq, reason, next_attempt_at)
                WHERE d.relay = u.relay AND d.seq = u.seq AND d.state = 'pending'
                """, logger: logger)
        }
    }
}
