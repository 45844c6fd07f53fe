import GRDB
import GRDBSQLite
import NostrCore
import Synchronization

/// One index of the ledger's events beyond the authors' own: the events that `p`-tag an inbox
/// recipient, or that match a configured filter. `key` names it across runs (a changed filter is
/// a new index); `matches` decides membership, whatever the event's kind or date.
public struct ScopeIndexDefinition: Sendable {
    public let key: String
    public let definition: String
    public let matches: @Sendable (Event) -> Bool

    public init(key: String, definition: String, matches: @escaping @Sendable (Event) -> Bool) {
        self.key = key
        self.definition = definition
        self.matches = matches
    }
}

extension Ledger {
    /// Makes these indexes current: each new one, or one behind the ledger (events recorded while
    /// it was not configured), is filled from the events already recorded, read once in seq order.
    /// From then on `record` keeps them with each batch.
    public func registerScopeIndexes(_ definitions: [ScopeIndexDefinition]) throws {
        guard !definitions.isEmpty else { return }
        let ids = try write("index scopes") { db -> [String: Int64] in
            var ids: [String: Int64] = [:]
            // Each definition with its row id and how far the index has read the ledger.
            var indexes: [(definition: ScopeIndexDefinition, id: Int64, through: Int64)] = []
            for d in definitions {
                try db.execute(
                    sql: "INSERT INTO scope_indexes (key, definition) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", arguments: [d.key, d.definition])
                let row = try Row.fetchOne(db, sql: "SELECT id, indexed_through_seq FROM scope_indexes WHERE key = ?", arguments: [d.key])!
                ids[d.key] = row[0]
                indexes.append((d, row[0], row[1]))
            }
            let top = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
            let behind = indexes.filter { $0.through < top }
            guard let start = behind.map(\.through).min() else { return ids }
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO scope_events (scope, created_at, id, kind) VALUES (?, ?, ?, ?)")
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, raw FROM events WHERE seq > ? ORDER BY seq", arguments: [start])
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                guard let event = try? Event(json: row[1] as String) else { continue }
                for index in behind where index.through < seq && index.definition.matches(event) {
                    try insert.execute(arguments: [index.id, event.createdAt, event.id, event.kind])
                }
            }
            for index in behind {
                try db.execute(sql: "UPDATE scope_indexes SET indexed_through_seq = ? WHERE id = ?", arguments: [top, index.id])
            }
            return ids
        }
        activeScopeIndexes.withLock { $0.merge(ids) { _, new in new } }
    }

    /// Adds each new event to the indexes it was found to belong to, and moves every active
    /// index past the batch (part of `record`'s transaction).
    func indexScopes(_ db: Database, _ added: [(event: Event, indexes: [String])], through seq: Int64?) throws {
        let active = activeScopeIndexes.withLock { $0 }
        guard !active.isEmpty else { return }
        let insert = try DirectStatement(db, sql: "INSERT OR IGNORE INTO scope_events (scope, created_at, id, kind) VALUES (?, ?, ?, ?)")
        for (event, keys) in added {
            for key in keys {
                guard let id = active[key] else { continue }
                try insert.run(db) { b in
                    b.add(id); b.add(event.createdAt); b.add(event.id); b.add(event.kind)
                }
            }
        }
        guard let seq else { return }
        let advance = try db.cachedStatement(sql: "UPDATE scope_indexes SET indexed_through_seq = ? WHERE id = ? AND indexed_through_seq < ?")
        for id in active.values { try advance.execute(arguments: [seq, id, seq]) }
    }

    /// The events of these indexes (kinds limited to `kinds` when given) from `lower` on, as
    /// `reconcileItems(scope:…)` gives the authors' own: sorted by (created_at, id), whole seconds
    /// per window.
    public func reconcileItems(indexes keys: [String], kinds: Set<Int>?, from lower: Int64, maxItems: Int) throws -> (
        items: [LedgerItem], upper: Int64?
    ) {
        let ids = try scopeIndexIDs(keys)
        guard !ids.isEmpty else { return ([], nil) }
        let list = ids.map(String.init).joined(separator: ",")
        let sql =
            ids.count == 1
            ? "SELECT created_at, id, kind FROM scope_events WHERE scope = \(list) AND created_at >= ? ORDER BY created_at, id"
            : "SELECT DISTINCT created_at, id, kind FROM scope_events WHERE scope IN (\(list)) AND created_at >= ? ORDER BY created_at, id"
        return try read("read scope items") { db in
            let statement = try db.makeStatement(sql: sql)
            return try Self.stepItems(db, statement, lower: lower, maxItems: maxItems, idColumn: 1) { handle in
                guard let kinds else { return true }
                return kinds.contains(Int(sqlite3_column_int64(handle, 2)))
            }
        }
    }

    /// How many events these indexes hold (of `kinds`, when given), counted once each.
    public func scopeEventCount(indexes keys: [String], kinds: Set<Int>?) throws -> Int {
        let ids = try scopeIndexIDs(keys)
        guard !ids.isEmpty else { return 0 }
        let kindClause = kinds.map { " AND kind IN (\($0.sorted().map(String.init).joined(separator: ",")))" } ?? ""
        return try read("count scope events") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM (SELECT DISTINCT created_at, id FROM scope_events
                    WHERE scope IN (\(ids.map(String.init).joined(separator: ",")))\(kindClause))
                    """) ?? 0
        }
    }

    /// How many of the ledger's events these authors signed (of `kinds`, when given).
    public func authorEventCount(authors: [String], kinds: Set<Int>?) throws -> Int {
        guard !authors.isEmpty else { return 0 }
        let wanted = Set(authors)
        // Every event is the authors' when the census says so (it matches keys in either case;
        // ledger pubkeys are lowercase, as the text compared below), the census's count is the
        // answer: a one-shot run's summary and `status` read every event, then walked an index.
        return try read("count author events") { db in
            if kinds == nil {
                let census = try AuthorCensus.read(db)
                if census.isWithin(Self.lowercaseKeys(authors)) { return census.events }
            }
            var count = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT pubkey, kind FROM events")
            while let row = try rows.next() {
                guard wanted.contains(row[0] as String) else { continue }
                if let kinds, !kinds.contains(row[1] as Int) { continue }
                count += 1
            }
            return count
        }
    }

    /// The keys of those of `authors` written as ledger pubkeys are: 64 lowercase hex digits.
    static func lowercaseKeys(_ authors: some Sequence<String>) -> Set<Bytes32> {
        Set(authors.compactMap { author in Bytes32(hex: author).flatMap { $0.hex == author ? $0 : nil } })
    }

    /// The ids of indexes by key; keys never registered have none.
    private func scopeIndexIDs(_ keys: [String]) throws -> [Int64] {
        let active = activeScopeIndexes.withLock { $0 }
        var ids: [Int64] = []
        var unknown: [String] = []
        for key in keys {
            if let id = active[key] { ids.append(id) } else { unknown.append(key) }
        }
        if !unknown.isEmpty {
            // A reporting command reads indexes an agent registered.
            try read("read scope indexes") { db in
                for key in unknown {
                    if let id = try Int64.fetchOne(db, sql: "SELECT id FROM scope_indexes WHERE key = ?", arguments: [key]) { ids.append(id) }
                }
            }
        }
        return ids.sorted()
    }

    /// Steps a statement whose first column is `created_at` and whose `idColumn` is an event id,
    /// bound with `lower`, into one window: at least every event of each second read, and no
    /// further second once `maxItems` are read.
    static func stepItems(
        _ db: Database, _ statement: Statement, lower: Int64, maxItems: Int, idColumn: Int32, accept: (OpaquePointer) -> Bool
    ) throws -> (items: [LedgerItem], upper: Int64?) {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle) }
        sqlite3_bind_int64(handle, 1, lower)
        var items: [LedgerItem] = []
        items.reserveCapacity(min(maxItems, 65_536))
        while true {
            let code = sqlite3_step(handle)
            guard code == SQLITE_ROW else {
                if code == SQLITE_DONE { return (items, nil) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
            let createdAt = sqlite3_column_int64(handle, 0)
            if items.count >= maxItems, let last = items.last, createdAt != last.createdAt {
                return (items, last.createdAt)
            }
            guard accept(handle) else { continue }
            // Ledger ids are verified hex; a row that is not is left out of the comparison.
            guard let id = bytes32(handle, column: idColumn) else { continue }
            items.append(LedgerItem(createdAt: createdAt, id: id))
        }
    }
}

extension Ledger {
    /// Notes what stands in the way of reading `scope` from `relay`, or (nil) that nothing does.
    public func noteScopeProblem(relay: RelayURL, scope: String, _ problem: String?, at time: Int64) throws {
        try write("note scope problem") { db in
            if let problem {
                try db.execute(
                    sql: """
                        INSERT INTO scope_problems (relay, scope, problem, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (relay, scope) DO UPDATE SET problem = excluded.problem, updated_at = excluded.updated_at
                        """, arguments: [relay, scope, problem, time])
            } else {
                try db.execute(sql: "DELETE FROM scope_problems WHERE relay = ? AND scope = ?", arguments: [relay, scope])
            }
        }
    }

    /// Every (relay, scope) that could not be read, with the reason, sorted.
    public func scopeProblems() throws -> [(relay: RelayURL, scope: String, problem: String, at: Int64)] {
        try read("read scope problems") { db in
            try Row.fetchAll(db, sql: "SELECT relay, scope, problem, updated_at FROM scope_problems ORDER BY relay, scope").compactMap {
                guard let relay = RelayURL($0[0] as String) else { return nil }
                return (relay: relay, scope: $0[1], problem: $0[2], at: $0[3])
            }
        }
    }
}
