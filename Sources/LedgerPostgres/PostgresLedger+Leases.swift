import Foundation
import Ledger
import Logging
import NostrCore
import PostgresNIO

/// A lease as granted: the resource, its holder and the generation every write it protects carries.
public struct LeaseToken: Sendable, Hashable {
    public let resource: String
    public let holder: String
    public let generation: Int64

    public init(resource: String, holder: String, generation: Int64) {
        self.resource = resource
        self.holder = holder
        self.generation = generation
    }
}

/// A row of `leases`, for `status`.
public struct LeaseRecord: Sendable, Equatable {
    public var resource: String
    public var holder: String?
    public var generation: Int64
    /// Seconds until it expires by the database's clock (negative once expired).
    public var expiresIn: Double
}

/// A row of `agents`, for `status`.
public struct AgentRecord: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int32
    /// Seconds since its last heartbeat, by the database's clock.
    public var secondsSinceHeartbeat: Double
}

/// The outcome of a lease-protected write.
public enum FencedOutcome: Sendable, Equatable {
    case written
    /// The lease's generation or holder is no longer this one (or it expired): nothing was
    /// written, and the attempt is recorded in `fenced_writes`.
    case fenced
}

extension PostgresLedger {
    // MARK: Leases

    /// Takes `resource` if it is free or its lease expired (a new generation), for `period`.
    /// Nil when another agent holds it unexpired.
    public func acquire(_ resource: String, holder: String, period: Duration) async throws -> LeaseToken? {
        let seconds = Self.seconds(period)
        return try await connection { c in
            try await
                (try await c.query(
                    """
                    INSERT INTO leases (resource, holder, generation, expires_at) VALUES (\(resource), \(holder), 1, now() + make_interval(secs => \(seconds)))
                    ON CONFLICT (resource) DO UPDATE SET holder = excluded.holder, generation = leases.generation + 1, expires_at = excluded.expires_at
                    WHERE leases.holder IS NULL OR leases.expires_at <= now()
                    RETURNING generation
                    """, logger: logger
                )).decode(Int64.self).all().first.map { LeaseToken(resource: resource, holder: holder, generation: $0) }
        }
    }

    /// Extends a lease still held at this generation and unexpired; false otherwise (the holder
    /// must stop, and may try `acquire` for a new generation).
    public func renew(_ token: LeaseToken, period: Duration) async throws -> Bool {
        let seconds = Self.seconds(period)
        return try await connection { c in
            !(try await
                (try await c.query(
                    """
                    UPDATE leases SET expires_at = now() + make_interval(secs => \(seconds))
                    WHERE resource = \(token.resource) AND holder = \(token.holder) AND generation = \(token.generation) AND expires_at > now()
                    RETURNING generation
                    """, logger: logger
                )).decode(Int64.self).all().isEmpty)
        }
    }

    /// Gives back everything `holder` holds (SIGTERM): free at once for the others.
    @discardableResult
    public func releaseAll(holder: String) async throws -> Int {
        try await connection { c in
            try await
                (try await c.query(
                    "UPDATE leases SET holder = NULL, expires_at = now() WHERE holder = \(holder) RETURNING resource", logger: logger
                )).decode(String.self).all().count
        }
    }

    /// Gives back one lease if still held at this generation (a holder giving up its excess, or
    /// work that failed): free at once for the others. False when it was no longer this one's.
    @discardableResult
    public func release(_ token: LeaseToken) async throws -> Bool {
        try await connection { c in
            !(try await
                (try await c.query(
                    """
                    UPDATE leases SET holder = NULL, expires_at = now()
                    WHERE resource = \(token.resource) AND holder = \(token.holder) AND generation = \(token.generation)
                    RETURNING generation
                    """, logger: logger
                )).decode(Int64.self).all().isEmpty)
        }
    }

    public func leases() async throws -> [LeaseRecord] {
        try await connection { c in
            let rows = try await c.query(
                "SELECT resource, holder, generation, EXTRACT(EPOCH FROM expires_at - now())::float8 FROM leases ORDER BY resource", logger: logger)
            var out: [LeaseRecord] = []
            for try await (resource, holder, generation, left) in rows.decode((String, String?, Int64, Double).self) {
                out.append(LeaseRecord(resource: resource, holder: holder, generation: generation, expiresIn: left))
            }
            return out
        }
    }

    /// Runs `body` in a transaction only while `token` is still the lease: the lease row is locked
    /// (FOR SHARE) for the transaction, so no takeover can commit in between. A stale token writes
    /// nothing; the attempt is recorded in `fenced_writes`.
    public func fenced(_ token: LeaseToken, _ what: String, _ body: @Sendable (PostgresConnection) async throws -> Void) async throws -> FencedOutcome {
        let outcome = try await transaction { c -> FencedOutcome in
            let current = try await
                (try await c.query(
                    """
                    SELECT 1::int4 FROM leases WHERE resource = \(token.resource) AND holder = \(token.holder) AND generation = \(token.generation)
                      AND expires_at > now() FOR SHARE
                    """, logger: logger
                )).decode(Int32.self).all()
            guard !current.isEmpty else { return .fenced }
            try await body(c)
            return .written
        }
        if outcome == .fenced {
            logger.warning(
                "lease-protected write refused: lease lost",
                metadata: ["resource": "\(token.resource)", "generation": "\(token.generation)", "write": "\(what)"])
            try await connection { c in
                try await c.exec(
                    """
                    INSERT INTO fenced_writes (resource, holder, generation, what) VALUES (\(token.resource), \(token.holder), \(token.generation), \(what))
                    """, logger: logger)
            }
        }
        return outcome
    }

    /// `setCursor` under a relay's read lease: a holder that lost it cannot move a cursor back.
    public func setCursor(_ cursor: BackfillCursor, relay: RelayURL, pubkeys: [String], under token: LeaseToken) async throws -> FencedOutcome {
        let logger = self.logger
        return try await fenced(token, "set cursor \(relay)") { c in
            try await c.exec(
                """
                INSERT INTO cursors (relay, pubkey, until_ts, complete, newest_seen)
                SELECT \(relay), p, \(cursor.until), \(cursor.complete), \(cursor.newestSeen) FROM unnest(\(pubkeys)::text[]) AS p
                ON CONFLICT (relay, pubkey) DO UPDATE SET until_ts = excluded.until_ts, complete = excluded.complete, newest_seen = excluded.newest_seen
                """, logger: logger)
        }
    }

    /// Delivery outcomes under a backup relay's delivery lease.
    public func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64, under token: LeaseToken) async throws -> FencedOutcome {
        let logger = self.logger
        return try await fenced(token, "record \(results.count) delivery outcomes") { c in
            try await c.settleDeliveries(results, now: now, logger: logger)
        }
    }

    /// The archive position under the archiving lease; never moves it back.
    public func setArchivedThroughSeq(_ seq: Int64, under token: LeaseToken) async throws -> FencedOutcome {
        let logger = self.logger
        return try await fenced(token, "set archive position \(seq)") { c in
            try await c.exec("UPDATE archive_state SET archived_through_seq = GREATEST(archived_through_seq, \(seq)) WHERE id = 1", logger: logger)
        }
    }

    /// How many lease-protected writes were refused, per holder (tests, `status`).
    public func fencedWriteCount(holder: String? = nil) async throws -> Int {
        try await connection { c in
            try await (try await c.query("SELECT COUNT(*) FROM fenced_writes WHERE \(holder)::text IS NULL OR holder = \(holder)", logger: logger))
                .decode(Int64.self).all().first.map(Int.init) ?? 0
        }
    }

    /// The refused writes of `holder`: which lease and generation each was attempted under.
    public func fencedWrites(holder: String) async throws -> [(resource: String, generation: Int64)] {
        try await connection { c in
            let rows = try await c.query("SELECT resource, generation FROM fenced_writes WHERE holder = \(holder) ORDER BY id", logger: logger)
            var out: [(resource: String, generation: Int64)] = []
            for try await (resource, generation) in rows.decode((String, Int64).self) { out.append((resource, generation)) }
            return out
        }
    }

    // MARK: Agents

    /// Records or refreshes this agent's row: its id, host and PID, heartbeat now.
    public func heartbeat(agent id: String, host: String, pid: Int32) async throws {
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO agents (id, host, pid) VALUES (\(id), \(host), \(pid))
                ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, last_heartbeat = now()
                """, logger: logger)
        }
    }

    public func agents() async throws -> [AgentRecord] {
        try await connection { c in
            let rows = try await c.query(
                "SELECT id, host, pid, EXTRACT(EPOCH FROM now() - last_heartbeat)::float8 FROM agents ORDER BY id", logger: logger)
            var out: [AgentRecord] = []
            for try await (id, host, pid, since) in rows.decode((String, String, Int32, Double).self) {
                out.append(AgentRecord(id: id, host: host, pid: pid, secondsSinceHeartbeat: since))
            }
            return out
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
