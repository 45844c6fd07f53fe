import Ledger
import Logging
import NostrCore
import PostgresNIO

/// An event's key in `events`: the ledger has no index on the id alone.
struct EventKey: Hashable, Sendable {
    let createdAt: Int64
    let id: String

    init(createdAt: Int64, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    init(_ event: Event) { self.init(createdAt: event.createdAt, id: event.id) }
}

extension PostgresLedger: EventStore {
    /// Event inserts of all agents are serialised by this transaction-scoped advisory lock, so
    /// `seq` values become visible in order and the archiver, reading by `seq`, never passes one
    /// that a slower transaction commits later.
    static let recordLock: Int64 = 0x7273_7963_7265_6301

    /// The same outcomes and rows as recording the batch one event at a time (the SQLite ledger's
    /// way), in a handful of statements per batch rather than several round trips per event: on
    /// loopback a round trip costs about what SQLite spends on a whole event. The first sighting
    /// of an event in the batch is the one inserted; a later one (another relay) is `known`.
    public func record(_ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64) async throws -> [RecordOutcome] {
        guard !batch.isEmpty else { return [] }
        var first: [EventKey: Int] = [:]
        var candidates: [Int] = []
        for (i, observed) in batch.enumerated() where observed.event.kindClass != .ephemeral {
            let key = EventKey(observed.event)
            if first[key] == nil {
                first[key] = i
                candidates.append(i)
            }
        }
        return try await transaction { c in
            try await c.exec("SELECT pg_advisory_xact_lock(\(Self.recordLock))", logger: logger)
            let seqs = try await Self.insertEvents(c, candidates.map { batch[$0] }, now: now, logger: logger)
            var outcomes = [RecordOutcome](repeating: .known, count: batch.count)
            var states: [Int: DeliveryState] = [:]
            var seen = Set<MarkKey>()
            var marks: [MarkKey] = []
            var deletions: [(id: String, pubkey: String)] = []
            for (i, observed) in batch.enumerated() {
                let e = observed.event
                if e.kindClass == .ephemeral {
                    outcomes[i] = .ephemeral
                    continue
                }
                let key = EventKey(e)
                guard first[key] == i, let seq = seqs[key] else {
                    let mark = MarkKey(relay: observed.relay, key: key)
                    if seen.insert(mark).inserted { marks.append(mark) }
                    continue
                }
                if e.kind == Kind.deletion {
                    for id in e.deletionTargets.eventIDs { deletions.append((id, e.pubkey)) }
                }
                if e.isExpired(at: now) {
                    states[i] = .expired
                    outcomes[i] = .expired(seq: seq)
                } else {
                    states[i] = .pending
                    outcomes[i] = .new(seq: seq)
                }
            }
            try await Self.settleHeads(c, batch, seqs: seqs, states: &states, outcomes: &outcomes, writableRelays: writableRelays, now: now, logger: logger)
            try await Self.insertDeliveries(c, batch, seqs: seqs, states: states, writableRelays: writableRelays, now: now, logger: logger)
            try await Self.markPresent(c, marks, now: now, logger: logger)
            try await Self.honourVanish(c, batch, seqs: seqs, first: first, now: now, logger: logger)
            try await indexScopes(c, batch, seqs: seqs, first: first)
            if !deletions.isEmpty {
                try await c.exec(
                    """
                    INSERT INTO deleted_events (event_id, pubkey) SELECT * FROM unnest(\(deletions.map(\.id))::text[], \(deletions.map(\.pubkey))::text[])
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            if let lastSeq = seqs.values.max(), !writableRelays.isEmpty {
                try await c.exec(
                    """
                    UPDATE relays SET deliveries_ensured_through = \(lastSeq) WHERE url = ANY(\(writableRelays.map(\.normalized))::text[]) AND deliveries_ensured_through < \(lastSeq)
                    """, logger: logger)
            }
            return outcomes
        }
    }

    /// A relay that has an event already in the ledger.
    struct MarkKey: Hashable {
        let relay: RelayURL
        let key: EventKey
    }

    /// Inserts the events in batch order (so `seq` follows it) and returns the seq of each one
    /// that was new; one already there is left out.
    static func insertEvents(_ c: PostgresConnection, _ observed: [ObservedEvent], now: Int64, logger: Logger) async throws -> [EventKey: Int64] {
        guard !observed.isEmpty else { return [:] }
        // postgres-nio binds no arrays of optionals: nullable columns travel as a value and a flag.
        var ids: [String] = [], pubkeys: [String] = [], kinds: [Int64] = [], created: [Int64] = []
        var dTags: [String] = [], hasD: [Bool] = [], replaceKeys: [String] = [], hasKey: [Bool] = []
        var expirations: [Int64] = [], hasExpiration: [Bool] = [], relays: [String] = [], raws: [String] = []
        for o in observed {
            let e = o.event
            ids.append(e.id)
            pubkeys.append(e.pubkey)
            kinds.append(Int64(e.kind))
            created.append(e.createdAt)
            dTags.append(e.dTag ?? "")
            hasD.append(e.dTag != nil)
            replaceKeys.append(e.replacementKey ?? "")
            hasKey.append(e.replacementKey != nil)
            expirations.append(e.expiration ?? 0)
            hasExpiration.append(e.expiration != nil)
            relays.append(o.relay.normalized)
            raws.append(e.rawJSON)
        }
        let rows = try await c.query(
            """
            INSERT INTO events (id, pubkey, kind, created_at, d_tag, replace_key, expiration, first_relay, first_seen_at, raw)
            SELECT id, pubkey, kind, created_at, CASE WHEN has_d THEN d_tag END, CASE WHEN has_key THEN replace_key END,
                   CASE WHEN has_expiration THEN expiration END, relay, \(now), raw
            FROM unnest(\(ids)::text[], \(pubkeys)::text[], \(kinds)::int8[], \(created)::int8[], \(dTags)::text[], \(hasD)::bool[],
                        \(replaceKeys)::text[], \(hasKey)::bool[], \(expirations)::int8[], \(hasExpiration)::bool[], \(relays)::text[], \(raws)::text[])
                 WITH ORDINALITY AS u(id, pubkey, kind, created_at, d_tag, has_d, replace_key, has_key, expiration, has_expiration, relay, raw, ord)
            ORDER BY ord
            ON CONFLICT (created_at, id) DO NOTHING RETURNING created_at, id, seq
            """, logger: logger)
        var seqs: [EventKey: Int64] = [:]
        for try await (createdAt, id, seq) in rows.decode((Int64, String, Int64).self) { seqs[EventKey(createdAt: createdAt, id: id)] = seq }
        return seqs
    }

    /// NIP-01 for the batch's new replaceable and addressable versions, in batch order: the later
    /// created_at wins, then the lower id. A version older than the head is `superseded`; a head
    /// replaced from the database has its pending deliveries superseded, one replaced within the
    /// batch gets its rows superseded before they are written.
    static func settleHeads(
        _ c: PostgresConnection, _ batch: [ObservedEvent], seqs: [EventKey: Int64], states: inout [Int: DeliveryState], outcomes: inout [RecordOutcome],
        writableRelays: [RelayURL], now: Int64, logger: Logger
    ) async throws {
        let contenders = states.filter { $0.value == .pending && batch[$0.key].event.replacementKey != nil }.keys.sorted()
        guard !contenders.isEmpty else { return }
        let keys = Array(Set(contenders.compactMap { batch[$0].event.replacementKey }))
        var heads: [String: (key: EventKey, index: Int?)] = [:]
        let rows = try await c.query(
            "SELECT replace_key, event_id, created_at FROM replaceable_heads WHERE replace_key = ANY(\(keys)::text[]) FOR UPDATE", logger: logger)
        for try await (key, id, createdAt) in rows.decode((String, String, Int64).self) { heads[key] = (EventKey(createdAt: createdAt, id: id), nil) }
        var replaced: [EventKey] = []
        var changed = Set<String>()
        for i in contenders {
            let e = batch[i].event
            guard let key = e.replacementKey, let seq = seqs[EventKey(e)] else { continue }
            if let head = heads[key] {
                guard Event.supersedes(createdAt: e.createdAt, id: e.id, other: head.key.createdAt, otherID: head.key.id) else {
                    states[i] = .superseded
                    outcomes[i] = .superseded(seq: seq)
                    continue
                }
                if let j = head.index { states[j] = .superseded } else { replaced.append(head.key) }
            }
            heads[key] = (EventKey(e), i)
            changed.insert(key)
        }
        if !changed.isEmpty {
            let chosen = changed.compactMap { key in heads[key].map { (key, $0.key) } }
            let keys = chosen.map(\.0)
            let winners = chosen.map(\.1)
            try await c.exec(
                """
                INSERT INTO replaceable_heads (replace_key, event_id, created_at)
                SELECT * FROM unnest(\(keys)::text[], \(winners.map(\.id))::text[], \(winners.map(\.createdAt))::int8[])
                ON CONFLICT (replace_key) DO UPDATE SET event_id = excluded.event_id, created_at = excluded.created_at
                """, logger: logger)
        }
        if !replaced.isEmpty, !writableRelays.isEmpty {
            try await c.exec(
                """
                UPDATE deliveries d SET state = 'superseded', updated_at = \(now)
                FROM events e, unnest(\(replaced.map(\.createdAt))::int8[], \(replaced.map(\.id))::text[]) AS h(created_at, id)
                WHERE e.created_at = h.created_at AND e.id = h.id AND d.seq = e.seq AND d.relay = ANY(\(writableRelays.map(\.normalized))::text[]) AND d.state = 'pending'
                """, logger: logger)
        }
    }

    /// Each new event: `present` on the relay it came from, its state on every other writable relay.
    static func insertDeliveries(
        _ c: PostgresConnection, _ batch: [ObservedEvent], seqs: [EventKey: Int64], states: [Int: DeliveryState], writableRelays: [RelayURL], now: Int64,
        logger: Logger
    ) async throws {
        guard !states.isEmpty else { return }
        var relays: [String] = [], rowSeqs: [Int64] = [], rowStates: [String] = []
        for (i, state) in states.sorted(by: { $0.key < $1.key }) {
            let observed = batch[i]
            guard let seq = seqs[EventKey(observed.event)] else { continue }
            relays.append(observed.relay.normalized)
            rowSeqs.append(seq)
            rowStates.append(DeliveryState.present.rawValue)
            for relay in writableRelays where relay != observed.relay {
                relays.append(relay.normalized)
                rowSeqs.append(seq)
                rowStates.append(state.rawValue)
            }
        }
        try await c.exec(
            """
            INSERT INTO deliveries (relay, seq, state, updated_at) SELECT r, s, st, \(now) FROM unnest(\(relays)::text[], \(rowSeqs)::int8[], \(rowStates)::text[]) AS u(r, s, st)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The relays have these events already in the ledger: cancel anything still owed to them.
    static func markPresent(_ c: PostgresConnection, _ marks: [MarkKey], now: Int64, logger: Logger) async throws {
        guard !marks.isEmpty else { return }
        try await c.exec(
            """
            INSERT INTO deliveries (relay, seq, state, updated_at)
            SELECT u.relay, e.seq, 'present', \(now)
            FROM unnest(\(marks.map(\.relay.normalized))::text[], \(marks.map(\.key.createdAt))::int8[], \(marks.map(\.key.id))::text[]) AS u(relay, created_at, id)
            JOIN events e ON e.created_at = u.created_at AND e.id = u.id
            ON CONFLICT (relay, seq) DO UPDATE SET state = 'present', updated_at = excluded.updated_at
            WHERE deliveries.state IN ('pending', 'superseded', 'expired', 'rejected')
            """, logger: logger)
    }

    public func eventCount() async throws -> Int {
        try await connection { c in
            try await (try await c.query("SELECT COUNT(*) FROM events", logger: logger)).decode(Int64.self).all().first.map(Int.init) ?? 0
        }
    }

    static func seq(_ c: PostgresConnection, createdAt: Int64, id: String, logger: Logger) async throws -> Int64? {
        try await (try await c.query("SELECT seq FROM events WHERE created_at = \(createdAt) AND id = \(id)", logger: logger)).decode(Int64.self).all().first
    }

    /// The relay has the event: cancel anything still owed to it.
    static func markPresent(_ c: PostgresConnection, relay: RelayURL, seq: Int64, now: Int64, logger: Logger) async throws {
        try await c.exec(
            """
            INSERT INTO deliveries (relay, seq, state, updated_at) VALUES (\(relay), \(seq), 'present', \(now))
            ON CONFLICT (relay, seq) DO UPDATE SET state = 'present', updated_at = excluded.updated_at
            WHERE deliveries.state IN ('pending', 'superseded', 'expired', 'rejected')
            """, logger: logger)
    }
}
