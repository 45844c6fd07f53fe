import PostgresNIO

/// A time an agent could not reach the database, as it recorded once it could again.
public struct LedgerOutage: Sendable, Equatable {
    public var agent: String
    /// Unix seconds by the agent's clock: the first failed attempt and the first one that worked.
    public var startedAt: Int64
    public var endedAt: Int64
    public var error: String

    public init(agent: String, startedAt: Int64, endedAt: Int64, error: String) {
        self.agent = agent
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.error = error
    }
}

extension PostgresLedger {
    public func noteOutage(_ outage: LedgerOutage) async throws {
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO ledger_outages (agent, started_at, ended_at, error)
                VALUES (\(outage.agent), \(outage.startedAt), \(outage.endedAt), \(String(outage.error.prefix(500))))
                """, logger: logger)
        }
    }

    /// The latest outages, newest first.
    public func recentOutages(limit: Int = 10) async throws -> [LedgerOutage] {
        try await connection { c in
            var out: [LedgerOutage] = []
            let rows = try await c.query(
                "SELECT agent, started_at, ended_at, error FROM ledger_outages ORDER BY ended_at DESC, id DESC LIMIT \(Int64(limit))", logger: logger)
            for try await (agent, started, ended, error) in rows.decode((String, Int64, Int64, String).self) {
                out.append(LedgerOutage(agent: agent, startedAt: started, endedAt: ended, error: error))
            }
            return out
        }
    }
}
