import Foundation
import Ledger
import Logging
import PostgresNIO

/// `relaysync ledger copy`: moves a SQLite ledger's rows into a PostgreSQL ledger, table by table
/// in primary-key order, one transaction per batch. Each batch also records the last key it wrote
/// (`ledger_copy_progress`), so a copy stopped anywhere (a kill, a lost connection, `maxBatches`)
/// resumes after the last committed batch; rows go in with ON CONFLICT DO NOTHING, so nothing is
/// ever there twice. Events keep their `seq`, so deliveries, the archive mark and the commit order
/// mean the same on both sides; the sequence then continues after the highest one.
public struct LedgerCopy: Sendable {
    /// A table as copied: its columns, primary key, and which columns are booleans on PostgreSQL
    /// (integers on SQLite).
    struct Table: Sendable {
        let name: String
        let columns: [String]
        let key: [String]
        var booleans: Set<String> = []
    }

    /// Events first: deliveries reference them.
    static let tables: [Table] = [
        Table(
            name: "events",
            columns: ["seq", "id", "pubkey", "kind", "created_at", "d_tag", "replace_key", "expiration", "first_relay", "first_seen_at", "raw"],
            key: ["seq"]),
        Table(name: "replaceable_heads", columns: ["replace_key", "event_id", "created_at"], key: ["replace_key"]),
        Table(name: "deliveries", columns: ["relay", "seq", "state", "attempts", "next_attempt_at", "reason", "updated_at"], key: ["relay", "seq"]),
        Table(name: "cursors", columns: ["relay", "pubkey", "until_ts", "complete", "newest_seen"], key: ["relay", "pubkey"], booleans: ["complete"]),
        Table(
            name: "relays", columns: ["url", "last_success_at", "last_error", "last_error_at", "deliveries_ensured_through", "ignores_limit_zero"],
            key: ["url"], booleans: ["ignores_limit_zero"]),
        Table(name: "runs", columns: ["id", "mode", "started_at", "ended_at", "exit_code", "summary"], key: ["id"]),
        Table(name: "scope_problems", columns: ["relay", "scope", "problem", "updated_at"], key: ["relay", "scope"]),
        Table(name: "deleted_events", columns: ["event_id", "pubkey"], key: ["event_id", "pubkey"]),
        Table(
            name: "reconciliations",
            columns: [
                "id", "relay", "scope", "started_at", "finished_at", "method", "windows", "ledger_events", "relay_events", "missing_on_relay",
                "missing_in_ledger", "fetched", "requeued", "lost_after_delivery", "messages", "bytes", "error",
            ],
            key: ["id"]),
        Table(
            name: "author_metadata", columns: ["pubkey", "kind", "event_id", "created_at", "raw", "source_relay", "fetched_at"],
            key: ["pubkey", "kind"]),
        Table(name: "discovery_checks", columns: ["pubkey", "checked_at"], key: ["pubkey"]),
        Table(name: "relay_health", columns: ["url", "figures", "information", "updated_at"], key: ["url"]),
        Table(name: "vanish_requests", columns: ["pubkey", "relay", "created_at", "event_id"], key: ["pubkey", "relay"]),
    ]

    /// Serial columns whose sequence must continue after the copied ids.
    static let serials: [(table: String, column: String)] = [("events", "seq"), ("runs", "id"), ("reconciliations", "id")]

    /// One table's counts after the copy (the archive mark as a one-row "table" of its value).
    public struct Check: Sendable, Equatable {
        public let table: String
        public let source: Int64
        public let destination: Int64
        public var matches: Bool { source == destination }
    }

    /// What a run did.
    public struct Outcome: Sendable {
        /// Rows written by this run, per table (already copied ones are not counted).
        public var copied: [String: Int] = [:]
        public var batches = 0
        /// False when `maxBatches` stopped the copy before the end: run it again to continue.
        public var finished = true
        /// Filled when finished.
        public var checks: [Check] = []
    }

    let source: Ledger
    let sourceID: String
    let destination: PostgresLedger
    let batchSize: Int
    let maxBatches: Int?

    /// `sourceID` names the SQLite ledger in the progress rows (its absolute path).
    public init(source: Ledger, sourceID: String, destination: PostgresLedger, batchSize: Int = 1_000, maxBatches: Int? = nil) {
        self.source = source
        self.sourceID = sourceID
        self.destination = destination
        self.batchSize = max(1, batchSize)
        self.maxBatches = maxBatches
    }

    /// Events already in the destination that no earlier copy of this source wrote: copying into a
    /// ledger agents already used would mix two histories under the same `seq` values.
    public func foreignEvents() async throws -> Int64 {
        try await destination.connection { c in
            let started =
                try await (try await c.query("SELECT COUNT(*) FROM ledger_copy_progress WHERE source = \(sourceID)", logger: destination.logger))
                .decode(Int64.self).all().first ?? 0
            guard started == 0 else { return 0 }
            return try await (try await c.query("SELECT COUNT(*) FROM events", logger: destination.logger)).decode(Int64.self).all().first ?? 0
        }
    }

    /// Copies what is not copied yet, then (unless stopped by `maxBatches`) compares the counts.
    public func run(progress: (String, Int) -> Void = { _, _ in }) async throws -> Outcome {
        var outcome = Outcome()
        for table in Self.tables {
            var after = try await lastKey(table)
            // A statement takes at most 65,535 parameters: wide tables go in smaller batches.
            let limit = min(batchSize, 65_535 / table.columns.count)
            while true {
                if let maxBatches, outcome.batches >= maxBatches {
                    outcome.finished = false
                    return outcome
                }
                let rows = try source.exportRows(table: table.name, columns: table.columns, key: table.key, after: after, limit: limit)
                guard let last = rows.last else { break }
                let keyIndexes = table.key.map { k in table.columns.firstIndex(of: k)! }
                let lastKey = keyIndexes.map { last[$0] }
                let written = try await write(rows, into: table, lastKey: lastKey)
                outcome.copied[table.name, default: 0] += written
                outcome.batches += 1
                progress(table.name, written)
                after = lastKey
                if rows.count < limit { break }
            }
        }
        try await finish()
        outcome.checks = try await verify()
        return outcome
    }

    /// Counts table by table, and the archive mark.
    public func verify() async throws -> [Check] {
        var checks: [Check] = []
        for table in Self.tables {
            let there = try await destination.connection { c in
                try await (try await c.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table.name)"), logger: destination.logger))
                    .decode(Int64.self).all().first ?? 0
            }
            checks.append(Check(table: table.name, source: Int64(try source.rowCount(table: table.name)), destination: there))
        }
        checks.append(Check(table: "archive mark", source: try source.archivedThroughSeq(), destination: try await destination.archivedThroughSeq()))
        return checks
    }

    private func lastKey(_ table: Table) async throws -> [LedgerValue]? {
        let text = try await destination.connection { c in
            try await
                (try await c.query(
                    "SELECT last_key FROM ledger_copy_progress WHERE source = \(sourceID) AND table_name = \(table.name)", logger: destination.logger))
                .decode(String.self).all().first
        }
        return try text.map { try JSONDecoder().decode([LedgerValue].self, from: Data($0.utf8)) }
    }

    /// One batch and its progress row, in one transaction.
    private func write(_ rows: [[LedgerValue]], into table: Table, lastKey: [LedgerValue]) async throws -> Int {
        var bindings = PostgresBindings(capacity: rows.count * table.columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        var n = 0
        for row in rows {
            var placeholders: [String] = []
            for (column, value) in zip(table.columns, row) {
                n += 1
                placeholders.append("$\(n)")
                Self.bind(value, boolean: table.booleans.contains(column), into: &bindings)
            }
            tuples.append("(\(placeholders.joined(separator: ", ")))")
        }
        let insert = PostgresQuery(
            unsafeSQL:
                "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING RETURNING 1",
            binds: bindings)
        let keyText = String(decoding: try JSONEncoder().encode(lastKey), as: UTF8.self)
        return try await destination.transaction { c in
            let written = try await c.query(insert, logger: destination.logger).collect().count
            try await c.exec(
                """
                INSERT INTO ledger_copy_progress (source, table_name, last_key, copied) VALUES (\(sourceID), \(table.name), \(keyText), \(Int64(written)))
                ON CONFLICT (source, table_name) DO UPDATE SET last_key = excluded.last_key, copied = ledger_copy_progress.copied + excluded.copied,
                    updated_at = now()
                """, logger: destination.logger)
            return written
        }
    }

    /// The sequences continue after the copied ids; the archive mark is the source's.
    private func finish() async throws {
        let mark = try source.archivedThroughSeq()
        try await destination.transaction { c in
            for (table, column) in Self.serials {
                try await c.exec(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), GREATEST((SELECT COALESCE(MAX(\(column)), 0) FROM \(table)), 1),
                                (SELECT COUNT(*) > 0 FROM \(table)))
                            """), logger: destination.logger)
            }
            try await c.exec("UPDATE archive_state SET archived_through_seq = GREATEST(archived_through_seq, \(mark)) WHERE id = 1", logger: destination.logger)
        }
    }

    private static func bind(_ value: LedgerValue, boolean: Bool, into bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()
        case let .integer(i): if boolean { bindings.append(i != 0) } else { bindings.append(i) }
        case let .real(d): bindings.append(d)
        case let .text(s): bindings.append(s)
        }
    }
}
