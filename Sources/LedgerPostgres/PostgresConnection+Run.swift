import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs a statement and reads its rows to the end (none, or a RETURNING nobody needs).
    func exec(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func all() async throws -> [Element] {
        var out: [Element] = []
        for try await element in self { out.append(element) }
        return out
    }
}
