import NostrCore
import PostgresNIO

extension PostgresLedger {
    /// How many of a relay's deliveries are in each state (`pending`, `delivered`, `duplicate`,
    /// `present`, `rejected`): a `duplicate` is an event sent again that the relay already had,
    /// which is how a cluster's handovers show their repeated sends.
    public func deliveryStates(relay: RelayURL) async throws -> [String: Int] {
        try await connection { c in
            let rows = try await c.query("SELECT state, COUNT(*) FROM deliveries WHERE relay = \(relay) GROUP BY state", logger: logger)
            var out: [String: Int] = [:]
            for try await (state, count) in rows.decode((String, Int64).self) { out[state] = Int(count) }
            return out
        }
    }
}
