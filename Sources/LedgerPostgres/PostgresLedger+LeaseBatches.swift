import Foundation
import Logging
import PostgresNIO

extension PostgresLedger {
    /// Extends, in one statement, every lease of `tokens` still held at its generation and
    /// unexpired; returns the resources renewed. One lost meanwhile (expired and taken, or
    /// released) is left out: its holder must stop working on it. A holder with a hundred leases
    /// renews them in one round trip instead of a hundred.
    public func renew(_ tokens: [LeaseToken], period: Duration) async throws -> Set<String> {
        guard !tokens.isEmpty else { return [] }
        let seconds = Self.seconds(period)
        return try await connection { c in
            let rows = try await c.query(
                """
                UPDATE leases l SET expires_at = now() + make_interval(secs => \(seconds))
                FROM unnest(\(tokens.map(\.resource))::text[], \(tokens.map(\.holder))::text[], \(tokens.map(\.generation))::int8[]) AS t(resource, holder, generation)
                WHERE l.resource = t.resource AND l.holder = t.holder AND l.generation = t.generation AND l.expires_at > now()
                RETURNING l.resource
                """, logger: logger)
            return Set(try await rows.decode(String.self).all())
        }
    }

    /// Resources whose lease has expired or was given back, oldest expiry first, at most `limit`,
    /// for a holder looking for work to take over (`acquire` decides who gets each one).
    public func expiredLeases(prefix: String = "", limit: Int) async throws -> [String] {
        try await connection { c in
            try await
                (try await c.query(
                    """
                    SELECT resource FROM leases WHERE expires_at <= now() AND starts_with(resource, \(prefix)) ORDER BY expires_at LIMIT \(limit)
                    """, logger: logger
                )).decode(String.self).all()
        }
    }
}
