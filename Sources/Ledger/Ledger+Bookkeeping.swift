import GRDB
import GRDBSQLite
import NostrCore

extension Ledger {
    /// Backfill cursors for `pubkeys` on `relay`; authors never started are absent.
    public func cursors(relay: RelayURL, pubkeys: [String]) throws -> [String: BackfillCursor] {
        let wanted = Set(pubkeys)
        return try read("read cursors") { db in
            var out: [String: BackfillCursor] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT pubkey, until_ts, complete, newest_seen FROM cursors WHERE relay = ?", arguments: [relay]) {
                let pubkey: String = row[0]
                guard wanted.contains(pubkey) else { continue }
                out[pubkey] = BackfillCursor(until: row[1], complete: row[2], newestSeen: row[3])
            }
            return out
        }
    }

    public func setCursor(_ cursor: BackfillCursor, relay: RelayURL, pubkeys: [String]) throws {
        try write("save cursors") { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO cursors (relay, pubkey, until_ts, complete, newest_seen) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (relay, pubkey) DO UPDATE SET until_ts = excluded.until_ts, complete = excluded.complete, newest_seen = excluded.newest_seen
                    """)
            for pubkey in pubkeys {
                try upsert.execute(arguments: [relay, pubkey, cursor.until, cursor.complete, cursor.newestSeen])
            }
        }
    }

    /// Raises `newestSeen` (never lowers it) for authors followed live.
    public func noteNewestSeen(_ createdAt: Int64, relay: RelayURL, pubkeys: [String]) throws {
        try write("save newest seen") { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO cursors (relay, pubkey, newest_seen) VALUES (?, ?, ?)
                    ON CONFLICT (relay, pubkey) DO UPDATE SET newest_seen = MAX(COALESCE(newest_seen, 0), excluded.newest_seen)
                    """)
            for pubkey in pubkeys { try upsert.execute(arguments: [relay, pubkey, createdAt]) }
        }
    }

    public func noteRelaySuccess(_ relay: RelayURL, at time: Int64) throws {
        try write("note relay success") { db in try Self.noteRelaySuccess(db, relay, at: time) }
    }

    /// Runs in every live note's transaction, once per backup: prepared once, and a stamp
    /// already there (the same second) writes nothing.
    static func noteRelaySuccess(_ db: Database, _ relay: RelayURL, at time: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO relays (url, last_success_at) VALUES (?, ?)
                ON CONFLICT (url) DO UPDATE SET last_success_at = excluded.last_success_at
                WHERE last_success_at IS NOT excluded.last_success_at
                """
        ).execute(arguments: [relay, time])
    }

    public func noteRelayError(_ relay: RelayURL, _ message: String, at time: Int64) throws {
        try write("note relay error") { db in
            try db.execute(
                sql: """
                    INSERT INTO relays (url, last_error, last_error_at) VALUES (?, ?, ?)
                    ON CONFLICT (url) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at
                    """, arguments: [relay, String(message.prefix(500)), time])
        }
    }

    public func beginRun(mode: String, at time: Int64) throws -> Int64 {
        try write("begin run") { db in
            try db.execute(sql: "INSERT INTO runs (mode, started_at) VALUES (?, ?)", arguments: [mode, time])
            return db.lastInsertedRowID
        }
    }

    public func endRun(_ id: Int64, at time: Int64, exitCode: Int32, summaryJSON: String) throws {
        try write("end run") { db in
            try db.execute(sql: "UPDATE runs SET ended_at = ?, exit_code = ?, summary = ? WHERE id = ?", arguments: [time, exitCode, summaryJSON, id])
        }
    }

    /// Events in commit order, for the archiver.
    public func events(afterSeq seq: Int64, limit: Int) throws -> [StoredEvent] {
        try read("read events") { db in
            // A cursor reads columns in place; fetchAll would copy every row's column names.
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT seq, id, created_at, raw FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [seq, limit])
            var out: [StoredEvent] = []
            while let row = try rows.next() { out.append(StoredEvent(seq: row[0], id: row[1], createdAt: row[2], rawJSON: row[3])) }
            return out
        }
    }

    /// The same events as `events(afterSeq:limit:)`, handed to `body` one by one as SQLite steps
    /// to them, as bytes: no `String` is made of their text, and no batch is gathered. Returns how
    /// many were handed over.
    @discardableResult
    public func forEachRawEvent(afterSeq seq: Int64, limit: Int, _ body: (RawEventRow) throws -> Void) throws -> Int {
        try read("read events") { db in
            let select = try DirectStatement(db, sql: "SELECT seq, id, created_at, raw FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
            var count = 0
            try select.forEachRow(
                db,
                { b in
                    b.add(seq); b.add(limit)
                },
                { row in
                    try body(
                        RawEventRow(
                            seq: sqlite3_column_int64(row, 0), createdAt: sqlite3_column_int64(row, 2), id: DirectStatement.text(row, 1),
                            raw: DirectStatement.text(row, 3)))
                    count += 1
                })
            return count
        }
    }

    public func archivedThroughSeq() throws -> Int64 {
        try read("read archive position") { try Int64.fetchOne($0, sql: "SELECT archived_through_seq FROM archive_state WHERE id = 1") ?? 0 }
    }

    public func setArchivedThroughSeq(_ seq: Int64) throws {
        try write("save archive position") { try $0.execute(sql: "UPDATE archive_state SET archived_through_seq = ? WHERE id = 1", arguments: [seq]) }
    }

    public func relayStatistics() throws -> [RelayStatistics] {
        try read("relay statistics") { db in
            // Rows name relays by their normalized URL, which always parses; a row that does not
            // (written by hand) is left out rather than reported under a made-up relay.
            var stats: [RelayURL: RelayStatistics] = [:]
            func entry(_ relay: RelayURL) -> RelayStatistics { stats[relay] ?? RelayStatistics(relay: relay) }
            for row in try Row.fetchAll(db, sql: "SELECT relay, state, COUNT(*) FROM deliveries GROUP BY relay, state") {
                guard let relay = RelayURL(row[0] as String) else { continue }
                let state: String = row[1], n: Int = row[2]
                var s = entry(relay)
                switch DeliveryState(rawValue: state) {
                case .present: s.present = n
                case .pending: s.pending = n
                case .delivered: s.delivered = n
                case .duplicate: s.duplicate = n
                case .rejected: s.rejected = n
                case .superseded: s.superseded = n
                case .expired, nil: break
                }
                stats[relay] = s
            }
            for row in try Row.fetchAll(db, sql: "SELECT relay, COALESCE(reason, ''), COUNT(*) FROM deliveries WHERE state = 'rejected' GROUP BY relay, reason")
            {
                guard let relay = RelayURL(row[0] as String) else { continue }
                let reason: String = row[1], n: Int = row[2]
                stats[relay, default: RelayStatistics(relay: relay)].rejectedByReason[reason] = n
            }
            for row in try Row.fetchAll(db, sql: "SELECT url, last_success_at, last_error, last_error_at FROM relays") {
                guard let relay = RelayURL(row[0] as String) else { continue }
                var s = entry(relay)
                s.lastSuccessAt = row[1]
                s.lastError = row[2]
                s.lastErrorAt = row[3]
                stats[relay] = s
            }
            for row in try Row.fetchAll(db, sql: "SELECT relay, SUM(complete), COUNT(*) FROM cursors WHERE substr(pubkey, 2, 1) != ':' GROUP BY relay") {
                guard let relay = RelayURL(row[0] as String) else { continue }
                var s = entry(relay)
                s.backfillAuthorsComplete = row[1] ?? 0
                s.backfillAuthorsTotal = row[2]
                stats[relay] = s
            }
            return stats.values.sorted { $0.relay < $1.relay }
        }
    }
}
