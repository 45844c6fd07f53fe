import Ledger
import Logging
import PostgresNIO

extension PostgresConnection {
    /// Settles the pending rows the outcomes name: the same statements with or without a lease.
    /// A row no longer pending (seen on the relay meanwhile) is left as it is.
    func settleDeliveries(_ results: [DeliveryResult], now: Int64, logger: Logger) async throws {
        for r in results {
            let settled: (DeliveryState, String?)
            switch r.outcome {
            case .delivered: settled = (.delivered, nil)
            case .duplicate: settled = (.duplicate, nil)
            case let .rejected(reason): settled = (.rejected, reason)
            case let .retry(reason, after):
                try await exec(
                    """
                    UPDATE deliveries SET reason = \(reason), attempts = attempts + 1, next_attempt_at = \(now + max(0, after)), updated_at = \(now)
                    WHERE relay = \(r.relay) AND state = 'pending' AND seq = \(r.seq)
                    """, logger: logger)
                continue
            }
            try await exec(
                """
                UPDATE deliveries SET state = \(settled.0.rawValue), reason = \(settled.1), attempts = attempts + 1, updated_at = \(now)
                WHERE relay = \(r.relay) AND state = 'pending' AND seq = \(r.seq)
                """, logger: logger)
        }
    }
}
