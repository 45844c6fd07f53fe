import GRDB
import NostrCore
import Synchronization

extension Ledger {
    /// An event's seq, through the (created_at, id) key: the ledger has no index on the id alone.
    static let findSeqSQL = "SELECT seq FROM events WHERE created_at = ? AND id = ?"

    /// Records verified events seen on relays, in one transaction, and
    /// schedules their deliveries to `writableRelays`.
    public func record(_ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64) throws -> [RecordOutcome] {
        guard let listener = freshListener.withLock({ $0 }) else {
            return try write("record events") { db in
                var none: FreshDeliveries? = nil
                return try record(db, batch, writableRelays: writableRelays, now: now, fresh: &none)
            }
        }
        let (outcomes, fresh) = try write("record events") { db in
            var fresh: FreshDeliveries? = FreshDeliveries()
            let outcomes = try record(db, batch, writableRelays: writableRelays, now: now, fresh: &fresh)
            return (outcomes, fresh!)
        }
        if !fresh.isEmpty { listener.tell(fresh) }
        return outcomes
    }

    /// The same through the writer: waits without holding a thread, and shares a transaction
    /// with whatever else is being written.
    public func record(_ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64) async throws -> [RecordOutcome] {
        guard let listener = freshListener.withLock({ $0 }) else {
            return try await writer.write("record events") { [self] db in
                var none: FreshDeliveries? = nil
                return try record(db, batch, writableRelays: writableRelays, now: now, fresh: &none)
            }
        }
        return try await writer.write(
            "record events",
            { [self] db in
                var fresh: FreshDeliveries? = FreshDeliveries()
                let outcomes = try record(db, batch, writableRelays: writableRelays, now: now, fresh: &fresh)
                return RecordedBatch(outcomes: outcomes, fresh: fresh!)
            },
            afterCommit: { if !$0.fresh.isEmpty { listener.tell($0.fresh) } }
        ).outcomes
    }

    /// Has `listener` told, after each commit that recorded events, what became due (the daemon's
    /// delivery loops take live notes from it instead of reading them back). Set once, before the
    /// loops start.
    public func handOffFreshDeliveries(to listener: @escaping @Sendable (FreshDeliveries) -> Void) {
        let box = FreshDeliveries.Listener(listener)
        freshListener.withLock { $0 = box }
    }

    private struct RecordedBatch: Sendable {
        var outcomes: [RecordOutcome]
        var fresh: FreshDeliveries
    }

    private func record(
        _ db: Database, _ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64, fresh: inout FreshDeliveries?
    ) throws -> [RecordOutcome] {
        do {
            var outcomes: [RecordOutcome] = []
            outcomes.reserveCapacity(batch.count)
            var indexed: [(event: Event, indexes: [String])] = []
            let vanishes = self.vanishes.withLock { $0 }
            var vanishCacheStale = false
            var authors: Set<String> = []
            var inserted: (first: Int64, last: Int64)?
            let findSeq = try DirectStatement(db, sql: Self.findSeqSQL)
            let insertEvent = try DirectStatement(
                db,
                sql: """
                    INSERT INTO events (id, pubkey, kind, created_at, d_tag, replace_key, expiration, first_relay, first_seen_at, raw)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (created_at, id) DO NOTHING
                    """)
            let insertDelivery = try DirectStatement(db, sql: "INSERT OR IGNORE INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, ?, ?)")
            for observed in batch {
                let e = observed.event
                if e.kindClass == .ephemeral {
                    outcomes.append(.ephemeral)
                    continue
                }
                // Inserted first and looked up only when the id is already there: new events,
                // the common case, cost one probe of the id index instead of two.
                try insertEvent.run(db) { b in
                    b.add(e.id); b.add(e.pubkey); b.add(e.kind); b.add(e.createdAt); b.add(e.dTag); b.add(e.replacementKey)
                    b.add(e.expiration); b.add(observed.relay); b.add(now); b.add(e.rawJSON)
                }
                guard db.changesCount == 1 else {
                    guard
                        let seq = try findSeq.run(
                            db,
                            { b in
                                b.add(e.createdAt); b.add(e.id)
                            })
                    else {
                        throw LedgerError(path: path, operation: "record events", inconsistency: "event \(e.id) neither inserted nor found")
                    }
                    try Self.markPresent(db, relay: observed.relay, seq: seq, now: now)
                    if fresh != nil, db.changesCount > 0 { fresh?.withdrew(seq, for: observed.relay) }
                    outcomes.append(.known)
                    continue
                }
                let seq = db.lastInsertedRowID
                authors.insert(e.pubkey)
                inserted = (inserted?.first ?? seq, seq)
                if e.kind == Kind.deletion { try Self.noteDeletions(db, by: e) }
                if e.kind == Kind.requestToVanish {
                    try Self.noteVanish(db, by: e)
                    vanishCacheStale = true
                }
                if !observed.indexes.isEmpty { indexed.append((e, observed.indexes)) }
                var state = DeliveryState.pending
                var outcome = RecordOutcome.new(seq: seq)
                if e.isExpired(at: now) {
                    state = .expired
                    outcome = .expired(seq: seq)
                } else if let key = e.replacementKey,
                    !(try Self.becomeHead(db, key: key, event: e, writableRelays: writableRelays, now: now, fresh: &fresh))
                {
                    state = .superseded
                    outcome = .superseded(seq: seq)
                }
                try insertDelivery.run(db) { b in
                    b.add(observed.relay); b.add(seq); b.add(DeliveryState.present.rawValue); b.add(now)
                }
                for relay in writableRelays where relay != observed.relay {
                    try insertDelivery.run(db) { b in
                        b.add(relay); b.add(seq); b.add(state.rawValue); b.add(now)
                    }
                }
                var vanished = false
                if state == .pending, let requests = vanishes[e.pubkey], e.kind != Kind.requestToVanish {
                    try Self.honourVanish(db, seq: seq, createdAt: e.createdAt, requests: requests, now: now)
                    vanished = true
                }
                if fresh != nil {
                    if vanished {
                        // Which relays it is still owed to is the ledger's to say.
                        fresh?.unsettled = true
                    } else if state == .pending {
                        for relay in writableRelays where relay != observed.relay { fresh?.made(seq, pendingFor: relay, event: e) }
                    }
                }
                outcomes.append(outcome)
            }
            try indexScopes(db, indexed, through: outcomes.lazy.compactMap(\.seq).max())
            if vanishCacheStale {
                // A request to vanish rejected rows that may have been handed out already.
                fresh?.unsettled = true
                let known = try Self.vanishRequests(db)
                self.vanishes.withLock { $0 = known }
            }
            // Every event up to here has its rows for these relays: a restart need not look again.
            if let last = outcomes.lazy.compactMap(\.seq).max(), !writableRelays.isEmpty {
                let advance = try db.cachedStatement(
                    sql: """
                        UPDATE relays SET deliveries_ensured_through = ? WHERE url = ? AND deliveries_ensured_through < ?
                        """)
                for relay in writableRelays { try advance.execute(arguments: [last, relay, last]) }
            }
            // Last: what it remembers once the transaction commits must be what was written.
            if let inserted { try countAuthors(db, authors, inserted: inserted.first...inserted.last) }
            return outcomes
        }
    }

    /// Remembers what a NIP-09 deletion names, so reconciliation never pushes those events back.
    static func noteDeletions(_ db: Database, by deletion: Event) throws {
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO deleted_events (event_id, pubkey) VALUES (?, ?)")
        for id in deletion.deletionTargets.eventIDs { try insert.execute(arguments: [id, deletion.pubkey]) }
    }

    /// The relay has the event: cancel anything we still owed it.
    static func markPresent(_ db: Database, relay: RelayURL, seq: Int64, now: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, 'present', ?)
                ON CONFLICT (relay, seq) DO UPDATE SET state = 'present', updated_at = excluded.updated_at
                WHERE state IN ('pending', 'superseded', 'expired', 'rejected')
                """
        ).execute(arguments: [relay, seq, now])
    }

    /// Makes `event` the newest version for `key` if it is newer (NIP-01:
    /// later created_at, then lower id), superseding pending deliveries of
    /// the version it replaces. Returns false when the event is older.
    static func becomeHead(
        _ db: Database, key: String, event: Event, writableRelays: [RelayURL], now: Int64, fresh: inout FreshDeliveries?
    ) throws -> Bool {
        if let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT event_id, created_at FROM replaceable_heads WHERE replace_key = ?"), arguments: [key]) {
            let headID: String = head[0], headCreated: Int64 = head[1]
            guard Event.supersedes(createdAt: event.createdAt, id: event.id, other: headCreated, otherID: headID) else { return false }
            // Row by row on the (relay, seq) key: a condition on seq alone would scan every delivery.
            if let headSeq = try Int64.fetchOne(db.cachedStatement(sql: Self.findSeqSQL), arguments: [headCreated, headID]) {
                let supersede = try db.cachedStatement(
                    sql: """
                        UPDATE deliveries SET state = 'superseded', updated_at = ? WHERE relay = ? AND seq = ? AND state = 'pending'
                        """)
                for relay in writableRelays {
                    try supersede.execute(arguments: [now, relay, headSeq])
                    if fresh != nil, db.changesCount > 0 { fresh?.withdrew(headSeq, for: relay) }
                }
            }
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO replaceable_heads (replace_key, event_id, created_at) VALUES (?, ?, ?)
                ON CONFLICT (replace_key) DO UPDATE SET event_id = excluded.event_id, created_at = excluded.created_at
                """
        ).execute(arguments: [key, event.id, event.createdAt])
        return true
    }
}
