import GRDB
import GRDBSQLite
import NostrCore

extension Ledger {
    // Queries on pending deliveries name the partial index: without statistics SQLite prefers the
    // (relay, seq) key, which walks every delivered row before the first pending one, so each
    // batch cost time in proportion to the whole history.

    static let dueDeliveriesSQL = """
        SELECT d.seq, e.id, e.kind, e.raw, d.attempts FROM deliveries d INDEXED BY deliveries_pending JOIN events e ON e.seq = d.seq
        WHERE d.relay = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
        ORDER BY d.seq LIMIT ?
        """
    static let hasPendingSQL = "SELECT EXISTS (SELECT 1 FROM deliveries INDEXED BY deliveries_pending WHERE relay = ? AND state = 'pending')"

    /// Pending deliveries due now for `relay`, oldest first.
    public func dueDeliveries(relay: RelayURL, limit: Int, now: Int64) throws -> [PendingDelivery] {
        try read("read due deliveries") { db in
            // Through SQLite's C API: the text is copied as bytes, without a `String` made of it.
            let select = try DirectStatement(db, sql: Self.dueDeliveriesSQL)
            var out: [PendingDelivery] = []
            try select.forEachRow(
                db,
                { b in
                    b.add(relay); b.add(now); b.add(limit)
                },
                { row in
                    out.append(
                        PendingDelivery(
                            seq: sqlite3_column_int64(row, 0), eventID: String(decoding: DirectStatement.text(row, 1), as: UTF8.self),
                            kind: Int(sqlite3_column_int64(row, 2)), relay: relay, text: .bytes(Array(DirectStatement.text(row, 3))),
                            attempts: Int(sqlite3_column_int64(row, 4))))
                })
            return out
        }
    }

    /// Applies relays' answers in one transaction. Only rows still pending
    /// change: an event seen on the relay meanwhile stays `present`.
    public func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64) throws {
        guard !results.isEmpty else { return }
        try write("record delivery outcomes") { db in try recordDeliveryOutcomes(db, results, now: now) }
    }

    /// The same through the writer (group commit, no thread held while waiting). With
    /// `noteSuccessOf`, that relay's last success is set in the same transaction: a live note
    /// would otherwise cost a second one per relay.
    public func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64, noteSuccessOf relay: RelayURL? = nil) async throws {
        guard !results.isEmpty else { return }
        try await writer.write("record delivery outcomes") { [self] db in
            try recordDeliveryOutcomes(db, results, now: now)
            if let relay { try Self.noteRelaySuccess(db, relay, at: now) }
        }
    }

    /// The same without waiting: the outcomes go into the writer's next transaction (a live note's
    /// record, usually), or commit after `within`. `done` runs once they are committed (nil) or
    /// failed. A crash before then loses them, and those events are sent again (the relay
    /// answers `duplicate:`): the daemon's delivery loops bound how many wait
    /// (`commitWaitingWrites`).
    public func recordDeliveryOutcomesLater(
        _ results: [DeliveryResult], now: Int64, noteSuccessOf relay: RelayURL?, within: Duration,
        done: @escaping @Sendable ((any Error)?) -> Void
    ) {
        guard !results.isEmpty else { return done(nil) }
        writer.writeLater(
            "record delivery outcomes", within: within,
            { [self] db in
                try recordDeliveryOutcomes(db, results, now: now)
                if let relay { try Self.noteRelaySuccess(db, relay, at: now) }
            }, done: done)
    }

    /// Commits the writes `recordDeliveryOutcomesLater` left waiting; returns once they are committed.
    public func commitWaitingWrites() async throws {
        try await writer.flush()
    }

    private func recordDeliveryOutcomes(_ db: Database, _ results: [DeliveryResult], now: Int64) throws {
        do {
            let target = "relay = ? AND state = 'pending' AND seq = ?"
            let settle = try DirectStatement(db, sql: "UPDATE deliveries SET state = ?, reason = ?, attempts = attempts + 1, updated_at = ? WHERE " + target)
            let retry = try DirectStatement(
                db, sql: "UPDATE deliveries SET reason = ?, attempts = attempts + 1, next_attempt_at = ?, updated_at = ? WHERE " + target)
            for r in results {
                let settled: (DeliveryState, String?)
                switch r.outcome {
                case .delivered: settled = (.delivered, nil)
                case .duplicate: settled = (.duplicate, nil)
                case let .rejected(reason): settled = (.rejected, reason)
                case let .retry(reason, after):
                    try retry.run(db) { b in
                        b.add(reason); b.add(now + max(0, after)); b.add(now); b.add(r.relay); b.add(r.seq)
                    }
                    continue
                }
                try settle.run(db) { b in
                    b.add(settled.0.rawValue); b.add(settled.1); b.add(now); b.add(r.relay); b.add(r.seq)
                }
            }
        }
    }

    /// Schedules deliveries to relays that became writable since events were
    /// recorded (a backup added to the config). Cheap on later starts: each
    /// relay remembers up to which seq it was already covered.
    @discardableResult
    public func ensureDeliveries(toWritableRelays relays: [RelayURL], now: Int64) throws -> Int {
        try write("schedule deliveries for new relays") { db in
            var added = 0
            let top = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
            for relay in relays {
                try db.execute(sql: "INSERT OR IGNORE INTO relays (url) VALUES (?)", arguments: [relay])
                let through = try Int64.fetchOne(db, sql: "SELECT deliveries_ensured_through FROM relays WHERE url = ?", arguments: [relay]) ?? 0
                if through < top {
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO deliveries (relay, seq, state, updated_at)
                            SELECT ?, e.seq, 'pending', ? FROM events e
                            WHERE e.seq > ? AND (e.expiration IS NULL OR e.expiration > ?)
                              AND (e.replace_key IS NULL OR e.id IN (SELECT event_id FROM replaceable_heads))
                              AND NOT \(Self.vanishedSQL)
                            """, arguments: [relay, now, through, now, relay])
                    added += db.changesCount
                }
                try db.execute(sql: "UPDATE relays SET deliveries_ensured_through = ? WHERE url = ?", arguments: [top, relay])
            }
            return added
        }
    }

    /// Whether anything is still pending for `relay`: one probe of the pending index, where a
    /// count would walk all of it (the one-shot run asks after every batch).
    /// When the first pending delivery to `relay` falls due (unix seconds), nil when none is
    /// pending: the delivery loop sleeps until then instead of polling for retries.
    public func nextDeliveryDue(relay: RelayURL) throws -> Int64? {
        try read("next delivery due") { db in
            try Int64.fetchOne(
                db, sql: "SELECT MIN(next_attempt_at) FROM deliveries INDEXED BY deliveries_pending WHERE relay = ? AND state = 'pending'",
                arguments: [relay])
        }
    }

    public func hasPending(relay: RelayURL) throws -> Bool {
        try read("probe pending") { db in
            try Bool.fetchOne(db.cachedStatement(sql: Self.hasPendingSQL), arguments: [relay]) ?? false
        }
    }

    /// When the ledger first saw the oldest event still pending for `relay` (unix seconds): how
    /// far the relay is behind. Nil when nothing is pending.
    public func oldestPendingFirstSeen(relay: RelayURL) throws -> Int64? {
        try read("read oldest pending") { db in
            try Int64.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT e.first_seen_at FROM deliveries d INDEXED BY deliveries_pending JOIN events e ON e.seq = d.seq
                        WHERE d.relay = ? AND d.state = 'pending' ORDER BY d.seq LIMIT 1
                        """), arguments: [relay])
        }
    }

    public func pendingCount(relay: RelayURL?) throws -> Int {
        try read("count pending") { db in
            if let relay {
                return try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM deliveries INDEXED BY deliveries_pending WHERE relay = ? AND state = 'pending'", arguments: [relay]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries INDEXED BY deliveries_pending WHERE state = 'pending'") ?? 0
        }
    }
}
