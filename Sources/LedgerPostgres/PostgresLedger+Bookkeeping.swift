import Ledger
import Logging
import NostrCore
import PostgresNIO

extension PostgresLedger: BookkeepingStore {
    public func noteRelaySuccess(_ relay: RelayURL, at time: Int64) async throws {
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO relays (url, last_success_at) VALUES (\(relay), \(time))
                ON CONFLICT (url) DO UPDATE SET last_success_at = excluded.last_success_at
                """, logger: logger)
        }
    }

    public func noteRelayError(_ relay: RelayURL, _ message: String, at time: Int64) async throws {
        let message = String(message.prefix(500))
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO relays (url, last_error, last_error_at) VALUES (\(relay), \(message), \(time))
                ON CONFLICT (url) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at
                """, logger: logger)
        }
    }

    public func noteScopeProblem(relay: RelayURL, scope: String, _ problem: String?, at time: Int64) async throws {
        try await connection { c in
            if let problem {
                try await c.exec(
                    """
                    INSERT INTO scope_problems (relay, scope, problem, updated_at) VALUES (\(relay), \(scope), \(problem), \(time))
                    ON CONFLICT (relay, scope) DO UPDATE SET problem = excluded.problem, updated_at = excluded.updated_at
                    """, logger: logger)
            } else {
                try await c.exec("DELETE FROM scope_problems WHERE relay = \(relay) AND scope = \(scope)", logger: logger)
            }
        }
    }

    public func ignoresLimitZero(relay: RelayURL) async throws -> Bool {
        try await connection { c in
            try await (try await c.query("SELECT ignores_limit_zero FROM relays WHERE url = \(relay)", logger: logger)).decode(Bool.self).all().first ?? false
        }
    }

    public func noteIgnoresLimitZero(relay: RelayURL) async throws {
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO relays (url, ignores_limit_zero) VALUES (\(relay), true) ON CONFLICT (url) DO UPDATE SET ignores_limit_zero = true
                """, logger: logger)
        }
    }

    public func beginRun(mode: String, at time: Int64) async throws -> Int64 {
        try await connection { c in
            guard
                let id = try await (try await c.query("INSERT INTO runs (mode, started_at) VALUES (\(mode), \(time)) RETURNING id", logger: logger))
                    .decode(Int64.self).all().first
            else { throw PostgresLedgerError(settings, .other("begin run returned no id")) }
            return id
        }
    }

    public func endRun(_ id: Int64, at time: Int64, exitCode: Int32, summaryJSON: String) async throws {
        try await connection { c in
            try await c.exec(
                "UPDATE runs SET ended_at = \(time), exit_code = \(exitCode), summary = \(summaryJSON) WHERE id = \(id)", logger: logger)
        }
    }

    public func seq(ofEventID id: String, createdAt: Int64) async throws -> Int64? {
        try await connection { c in try await Self.seq(c, createdAt: createdAt, id: id, logger: logger) }
    }

    public func authorEventCount(authors: [String], kinds: Set<Int>?) async throws -> Int {
        guard !authors.isEmpty else { return 0 }
        let kinds = kinds.map { $0.map(Int64.init) }
        return try await connection { c in
            try await
                (try await c.query(
                    """
                    SELECT COUNT(*) FROM events WHERE pubkey = ANY(\(authors)::text[]) AND (\(kinds)::int8[] IS NULL OR kind = ANY(\(kinds)::int8[]))
                    """, logger: logger
                )).decode(Int64.self).all().first.map(Int.init) ?? 0
        }
    }
}
