import Ledger
import NostrCore
import PostgresNIO

extension PostgresLedger {
    /// When the first pending delivery to `relay` falls due (unix seconds), nil when none is pending.
    public func nextDeliveryDue(relay: RelayURL) async throws -> Int64? {
        try await connection { c in
            try await
                (try await c.query(
                    "SELECT MIN(next_attempt_at) FROM deliveries WHERE relay = \(relay) AND state = 'pending'", logger: logger
                )).decode(Int64?.self).all().first ?? nil
        }
    }
}
