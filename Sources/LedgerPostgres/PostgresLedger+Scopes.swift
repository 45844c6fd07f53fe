import Ledger
import Logging
import NostrCore
import PostgresNIO
import Synchronization

extension PostgresLedger: ScopeIndexStore {
    static let scopeCatchUpPage: Int64 = 10_000

    /// As `Ledger.registerScopeIndexes`: each new index, or one behind the ledger, is filled from
    /// the events already recorded, read once in seq order; `record` keeps them from then on.
    /// Under the record lock, so no batch is recorded between the catch-up and the registration.
    public func registerScopeIndexes(_ definitions: [ScopeIndexDefinition]) async throws {
        guard !definitions.isEmpty else { return }
        let ids = try await transaction { c -> [String: Int64] in
            try await c.exec("SELECT pg_advisory_xact_lock(\(Self.recordLock))", logger: logger)
            var ids: [String: Int64] = [:]
            var behind: [(definition: ScopeIndexDefinition, id: Int64, through: Int64)] = []
            let top = try await (try await c.query("SELECT COALESCE(MAX(seq), 0)::bigint FROM events", logger: logger)).decode(Int64.self).all().first ?? 0
            for d in definitions {
                try await c.exec("INSERT INTO scope_indexes (key, definition) VALUES (\(d.key), \(d.definition)) ON CONFLICT (key) DO NOTHING", logger: logger)
                let row = try await (try await c.query("SELECT id, indexed_through_seq FROM scope_indexes WHERE key = \(d.key)", logger: logger))
                    .decode((Int64, Int64).self).all()
                guard let (id, through) = row.first else { continue }
                ids[d.key] = id
                if through < top { behind.append((d, id, through)) }
            }
            guard var cursor = behind.map(\.through).min() else { return ids }
            // Pages of the ledger in seq order, so a large ledger is read once in bounded memory
            // (a connection cannot write while it streams a query's rows).
            while cursor < top {
                var scopes: [Int64] = [], created: [Int64] = [], eventIDs: [String] = [], kinds: [Int64] = []
                let rows = try await c.query(
                    "SELECT seq, raw FROM events WHERE seq > \(cursor) AND seq <= \(top) ORDER BY seq LIMIT \(Self.scopeCatchUpPage)", logger: logger)
                var read = 0
                for try await (seq, raw) in rows.decode((Int64, String).self) {
                    read += 1
                    cursor = seq
                    guard let event = try? Event(json: raw) else { continue }
                    for index in behind where index.through < seq && index.definition.matches(event) {
                        scopes.append(index.id)
                        created.append(event.createdAt)
                        eventIDs.append(event.id)
                        kinds.append(Int64(event.kind))
                    }
                }
                try await Self.insertScopeEvents(c, scopes: scopes, created: created, ids: eventIDs, kinds: kinds, logger: logger)
                if read < Self.scopeCatchUpPage { break }
            }
            let lagging = behind.map(\.id)
            try await c.exec("UPDATE scope_indexes SET indexed_through_seq = \(top) WHERE id = ANY(\(lagging)::int8[])", logger: logger)
            return ids
        }
        activeScopeIndexes.withLock { $0.merge(ids) { _, new in new } }
    }

    /// Adds the batch's new events to the indexes they belong to and moves every active index
    /// past the batch (part of `record`'s transaction).
    func indexScopes(_ c: PostgresConnection, _ batch: [ObservedEvent], seqs: [EventKey: Int64], first: [EventKey: Int]) async throws {
        let active = activeScopeIndexes.withLock { $0 }
        guard !active.isEmpty, let top = seqs.values.max() else { return }
        var scopes: [Int64] = [], created: [Int64] = [], ids: [String] = [], kinds: [Int64] = []
        for (i, observed) in batch.enumerated() where !observed.indexes.isEmpty {
            let key = EventKey(observed.event)
            guard first[key] == i, seqs[key] != nil else { continue }
            for index in observed.indexes {
                guard let id = active[index] else { continue }
                scopes.append(id)
                created.append(observed.event.createdAt)
                ids.append(observed.event.id)
                kinds.append(Int64(observed.event.kind))
            }
        }
        try await Self.insertScopeEvents(c, scopes: scopes, created: created, ids: ids, kinds: kinds, logger: logger)
        let activeIDs = Array(active.values)
        try await c.exec(
            "UPDATE scope_indexes SET indexed_through_seq = \(top) WHERE id = ANY(\(activeIDs)::int8[]) AND indexed_through_seq < \(top)", logger: logger)
    }

    static func insertScopeEvents(
        _ c: PostgresConnection, scopes: [Int64], created: [Int64], ids: [String], kinds: [Int64], logger: Logger
    ) async throws {
        guard !scopes.isEmpty else { return }
        try await c.exec(
            """
            INSERT INTO scope_events (scope, created_at, id, kind) SELECT * FROM unnest(\(scopes)::int8[], \(created)::int8[], \(ids)::text[], \(kinds)::int8[])
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The row ids of these keys' indexes (those registered).
    func scopeIndexIDs(_ c: PostgresConnection, _ keys: [String]) async throws -> [Int64] {
        try await (try await c.query("SELECT id FROM scope_indexes WHERE key = ANY(\(keys)::text[])", logger: logger)).decode(Int64.self).all()
    }

    public func reconcileItems(indexes keys: [String], kinds: Set<Int>?, from lower: Int64, maxItems: Int) async throws -> (
        items: [LedgerItem], upper: Int64?
    ) {
        let kindList = kinds.map { $0.map(Int64.init) }
        return try await connection { c in
            let ids = try await scopeIndexIDs(c, keys)
            guard !ids.isEmpty else { return ([], nil) }
            let queries = WindowQueries(
                first: """
                    SELECT DISTINCT created_at, id FROM scope_events WHERE scope = ANY(\(ids)::int8[]) AND created_at >= \(lower)
                      AND (\(kindList)::int8[] IS NULL OR kind = ANY(\(kindList)::int8[]))
                    ORDER BY created_at, id LIMIT \(max(1, maxItems))
                    """,
                rest: { second, afterID in
                    """
                    SELECT DISTINCT id FROM scope_events WHERE scope = ANY(\(ids)::int8[]) AND created_at = \(second) AND id > \(afterID)
                      AND (\(kindList)::int8[] IS NULL OR kind = ANY(\(kindList)::int8[]))
                    ORDER BY id
                    """
                },
                more: { second in
                    """
                    SELECT EXISTS (SELECT 1 FROM scope_events WHERE scope = ANY(\(ids)::int8[]) AND created_at > \(second)
                      AND (\(kindList)::int8[] IS NULL OR kind = ANY(\(kindList)::int8[])))
                    """
                })
            return try await c.window(queries, maxItems: maxItems, logger: logger)
        }
    }

    public func scopeEventCount(indexes keys: [String], kinds: Set<Int>?) async throws -> Int {
        let kindList = kinds.map { $0.map(Int64.init) }
        return try await connection { c in
            let ids = try await scopeIndexIDs(c, keys)
            guard !ids.isEmpty else { return 0 }
            return try await
                (try await c.query(
                    """
                    SELECT COUNT(*) FROM (SELECT DISTINCT created_at, id FROM scope_events WHERE scope = ANY(\(ids)::int8[])
                      AND (\(kindList)::int8[] IS NULL OR kind = ANY(\(kindList)::int8[]))) AS s
                    """, logger: logger
                )).decode(Int64.self).all().first.map(Int.init) ?? 0
        }
    }
}
