import Ledger
import Logging
import NostrCore
import PostgresNIO

extension PostgresLedger {
    /// NIP-62 within a record transaction, as the SQLite ledger does it: a new request to vanish
    /// is kept (the newest per author and relay), and every pending delivery it covers becomes
    /// `rejected` with the reason, never retried: the author's earlier events on record, and new
    /// events of the batch no newer than a request (a backdated copy arriving late).
    static func honourVanish(
        _ c: PostgresConnection, _ batch: [ObservedEvent], seqs: [EventKey: Int64], first: [EventKey: Int], now: Int64, logger: Logger
    ) async throws {
        var pubkeys: [String] = [], relays: [String] = [], created: [Int64] = [], ids: [String] = []
        var newSeqs: [Int64] = []
        for (i, observed) in batch.enumerated() {
            let e = observed.event
            let key = EventKey(e)
            guard first[key] == i, let seq = seqs[key] else { continue }
            newSeqs.append(seq)
            guard e.kind == Kind.requestToVanish, let targets = e.vanishTargets else { continue }
            var named: [String] = []
            for target in targets {
                let relay = target == Event.allRelays ? "*" : RelayURL.normalize(target)
                if let relay, !named.contains(relay) { named.append(relay) }
            }
            for relay in named {
                pubkeys.append(e.pubkey)
                relays.append(relay)
                created.append(e.createdAt)
                ids.append(e.id)
            }
        }
        guard !newSeqs.isEmpty else { return }
        if !pubkeys.isEmpty {
            try await c.exec(
                """
                INSERT INTO vanish_requests (pubkey, relay, created_at, event_id)
                SELECT * FROM unnest(\(pubkeys)::text[], \(relays)::text[], \(created)::int8[], \(ids)::text[])
                ON CONFLICT (pubkey, relay) DO UPDATE SET created_at = excluded.created_at, event_id = excluded.event_id
                WHERE excluded.created_at > vanish_requests.created_at
                """, logger: logger)
        }
        // Most batches have no author who asked to vanish: one look at the primary key says so.
        let batchAuthors = Array(Set(batch.map(\.event.pubkey)))
        let asked = try await
            (try await c.query(
                "SELECT DISTINCT pubkey FROM vanish_requests WHERE pubkey = ANY(\(batchAuthors)::text[])", logger: logger)).decode(String.self).all()
        guard !asked.isEmpty else { return }
        try await stopVanished(c, authors: asked, seqs: newSeqs, wholeHistoryOf: Array(Set(pubkeys)), now: now, logger: logger)
    }

    /// Pending deliveries that a request to vanish covers become `rejected` with its reason: of
    /// `authors`' events among `seqs`, or all of them for those in `wholeHistoryOf`.
    static func stopVanished(
        _ c: PostgresConnection, authors: [String], seqs: [Int64], wholeHistoryOf: [String], now: Int64, logger: Logger
    ) async throws {
        let reason = Ledger.vanishReasonText
        try await c.exec(
            """
            UPDATE deliveries d SET state = 'rejected', reason = \(reason.before) || left(v.event_id, 16) || \(reason.after), updated_at = \(now)
            FROM vanish_requests v JOIN events e ON e.pubkey = v.pubkey
            WHERE v.pubkey = ANY(\(authors)::text[]) AND d.seq = e.seq AND d.state = 'pending' AND e.kind != \(Int64(Kind.requestToVanish))
              AND e.created_at <= v.created_at AND (v.relay = '*' OR v.relay = d.relay)
              AND (e.seq = ANY(\(seqs)::int8[]) OR e.pubkey = ANY(\(wholeHistoryOf)::text[]))
            """, logger: logger)
    }
}
