import Foundation
import Ledger
import Logging
import NostrCore
import PostgresNIO
import Synchronization

/// The ledger on PostgreSQL, shared by every agent of a cluster: the same tables and invariants as
/// the SQLite ledger (`Ledger`), through postgres-nio's connection pool. Each method is one
/// transaction. Times the agents compare (leases, heartbeats) are the database's, never an agent's
/// clock; event times are the caller's `now`, as on SQLite.
public final class PostgresLedger: Sendable {
    public let settings: PostgresLedgerSettings
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    /// The scope indexes this agent registered (key → row id): `record` adds new events to them.
    let activeScopeIndexes = Mutex<[String: Int64]>([:])

    private init(settings: PostgresLedgerSettings, client: PostgresClient, running: Task<Void, Never>, logger: Logger) {
        self.settings = settings
        self.client = client
        self.running = running
        self.logger = logger
    }

    /// Connects (one probe first, so a wrong address or password is one clear error at once rather
    /// than a pool retrying behind the scenes) and migrates the database.
    public static func open(_ settings: PostgresLedgerSettings, logger: Logger = Logger(label: "relaysync.ledger.postgres")) async throws(PostgresLedgerError)
        -> PostgresLedger
    {
        try await PostgresLedgerCheck.connect(settings)
        let client: PostgresClient
        do {
            client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        } catch {
            throw PostgresLedgerError.classify(error, settings: settings)
        }
        let running = Task { await client.run() }
        let ledger = PostgresLedger(settings: settings, client: client, running: running, logger: logger)
        do {
            try await PostgresSchema.migrate(client, logger: logger)
        } catch {
            await ledger.close()
            throw PostgresLedgerError.classify(error, settings: settings)
        }
        return ledger
    }

    /// Closes the pool's connections. The ledger cannot be used afterwards.
    public func close() async {
        running.cancel()
        await running.value
    }

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw PostgresLedgerError.classify(error, settings: settings)
        }
    }

    func connection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw PostgresLedgerError.classify(error, settings: settings)
        }
    }

    /// Relay → state for one event (tests and diagnostics).
    public func presence(of event: Event) async throws -> [RelayURL: DeliveryState] {
        try await connection { c in
            let rows = try await c.query(
                """
                SELECT d.relay, d.state FROM deliveries d JOIN events e ON e.seq = d.seq WHERE e.created_at = \(event.createdAt) AND e.id = \(event.id)
                """, logger: logger)
            var out: [RelayURL: DeliveryState] = [:]
            for try await (text, state) in rows.decode((String, String).self) {
                guard let relay = RelayURL(text) else { continue }
                out[relay] = DeliveryState(rawValue: state)
            }
            return out
        }
    }
}

// MARK: - Deliveries

extension PostgresLedger: DeliveryStore {
    public func dueDeliveries(relay: RelayURL, limit: Int, now: Int64) async throws -> [PendingDelivery] {
        try await connection { c in
            let rows = try await c.query(
                """
                SELECT d.seq, e.id, e.kind, e.raw, d.attempts FROM deliveries d JOIN events e ON e.seq = d.seq
                WHERE d.relay = \(relay) AND d.state = 'pending' AND d.next_attempt_at <= \(now)
                ORDER BY d.seq LIMIT \(limit)
                """, logger: logger)
            var out: [PendingDelivery] = []
            for try await (seq, id, kind, raw, attempts) in rows.decode((Int64, String, Int32, String, Int32).self) {
                out.append(.make(seq: seq, eventID: id, kind: Int(kind), relay: relay, rawJSON: raw, attempts: Int(attempts)))
            }
            return out
        }
    }

    /// Only rows still pending change: an event seen on the relay meanwhile stays `present`.
    public func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64, noteSuccessOf relay: RelayURL?) async throws {
        guard !results.isEmpty else { return }
        try await transaction { c in
            try await c.settleDeliveries(results, now: now, logger: logger)
            if let relay {
                try await c.exec(
                    """
                    INSERT INTO relays (url, last_success_at) VALUES (\(relay), \(now))
                    ON CONFLICT (url) DO UPDATE SET last_success_at = excluded.last_success_at
                    """, logger: logger)
            }
        }
    }

    @discardableResult
    public func ensureDeliveries(toWritableRelays relays: [RelayURL], now: Int64) async throws -> Int {
        try await transaction { c in
            try await c.exec("SELECT pg_advisory_xact_lock(\(Self.recordLock))", logger: logger)
            let top = try await (try await c.query("SELECT COALESCE(MAX(seq), 0)::bigint FROM events", logger: logger)).decode(Int64.self).all().first ?? 0
            var added = 0
            for relay in relays {
                try await c.exec("INSERT INTO relays (url) VALUES (\(relay)) ON CONFLICT DO NOTHING", logger: logger)
                let through =
                    try await (try await c.query("SELECT deliveries_ensured_through FROM relays WHERE url = \(relay)", logger: logger)).decode(Int64.self).all()
                    .first ?? 0
                if through < top {
                    let rows = try await
                        (try await c.query(
                            """
                            INSERT INTO deliveries (relay, seq, state, updated_at)
                            SELECT \(relay), e.seq, 'pending', \(now) FROM events e
                            WHERE e.seq > \(through) AND (e.expiration IS NULL OR e.expiration > \(now))
                              AND (e.replace_key IS NULL OR e.id IN (SELECT event_id FROM replaceable_heads))
                              AND NOT (e.kind != \(Int64(Kind.requestToVanish)) AND EXISTS (SELECT 1 FROM vanish_requests v
                                  WHERE v.pubkey = e.pubkey AND v.relay IN (\(relay), '*') AND v.created_at >= e.created_at))
                            ON CONFLICT DO NOTHING RETURNING seq
                            """, logger: logger
                        )).decode(Int64.self).all()
                    added += rows.count
                }
                try await c.exec("UPDATE relays SET deliveries_ensured_through = \(top) WHERE url = \(relay)", logger: logger)
            }
            return added
        }
    }

    public func hasPending(relay: RelayURL) async throws -> Bool {
        try await connection { c in
            try await (try await c.query("SELECT EXISTS (SELECT 1 FROM deliveries WHERE relay = \(relay) AND state = 'pending')", logger: logger))
                .decode(Bool.self).all().first ?? false
        }
    }

    public func pendingCount(relay: RelayURL?) async throws -> Int {
        try await connection { c in
            let rows = try await c.query(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND (\(relay)::text IS NULL OR relay = \(relay))", logger: logger)
            return try await rows.decode(Int64.self).all().first.map(Int.init) ?? 0
        }
    }
}

// MARK: - Cursors and the archive mark

extension PostgresLedger: CursorStore, ArchiveMarkStore {
    public func cursors(relay: RelayURL, pubkeys: [String]) async throws -> [String: BackfillCursor] {
        try await connection { c in
            let rows = try await c.query(
                "SELECT pubkey, until_ts, complete, newest_seen FROM cursors WHERE relay = \(relay) AND pubkey = ANY(\(pubkeys)::text[])", logger: logger)
            var out: [String: BackfillCursor] = [:]
            for try await (pubkey, until, complete, newest) in rows.decode((String, Int64?, Bool, Int64?).self) {
                out[pubkey] = BackfillCursor(until: until, complete: complete, newestSeen: newest)
            }
            return out
        }
    }

    public func setCursor(_ cursor: BackfillCursor, relay: RelayURL, pubkeys: [String]) async throws {
        try await transaction { c in
            try await c.exec(
                """
                INSERT INTO cursors (relay, pubkey, until_ts, complete, newest_seen)
                SELECT \(relay), p, \(cursor.until), \(cursor.complete), \(cursor.newestSeen) FROM unnest(\(pubkeys)::text[]) AS p
                ON CONFLICT (relay, pubkey) DO UPDATE SET until_ts = excluded.until_ts, complete = excluded.complete, newest_seen = excluded.newest_seen
                """, logger: logger)
        }
    }

    /// Raises `newestSeen`, never lowers it.
    public func noteNewestSeen(_ createdAt: Int64, relay: RelayURL, pubkeys: [String]) async throws {
        try await transaction { c in
            try await c.exec(
                """
                INSERT INTO cursors (relay, pubkey, newest_seen) SELECT \(relay), p, \(createdAt) FROM unnest(\(pubkeys)::text[]) AS p
                ON CONFLICT (relay, pubkey) DO UPDATE SET newest_seen = GREATEST(COALESCE(cursors.newest_seen, 0), excluded.newest_seen)
                """, logger: logger)
        }
    }

    public func events(afterSeq seq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await connection { c in
            let rows = try await c.query("SELECT seq, id, created_at, raw FROM events WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)", logger: logger)
            var out: [StoredEvent] = []
            for try await (seq, id, createdAt, raw) in rows.decode((Int64, String, Int64, String).self) {
                out.append(.make(seq: seq, id: id, createdAt: createdAt, rawJSON: raw))
            }
            return out
        }
    }

    public func archivedThroughSeq() async throws -> Int64 {
        try await connection { c in
            try await (try await c.query("SELECT archived_through_seq FROM archive_state WHERE id = 1", logger: logger)).decode(Int64.self).all().first ?? 0
        }
    }

    public func setArchivedThroughSeq(_ seq: Int64) async throws {
        try await connection { c in
            try await c.exec("UPDATE archive_state SET archived_through_seq = \(seq) WHERE id = 1", logger: logger)
        }
    }
}
