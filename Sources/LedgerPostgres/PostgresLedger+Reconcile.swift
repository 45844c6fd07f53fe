import Ledger
import Logging
import NostrCore
import PostgresNIO

extension PostgresLedger: ReconciliationStore {
    /// The events in `scope` from `lower` on, sorted by (created_at, id), whole seconds per window
    /// (as `Ledger.reconcileItems`): once `maxItems` are read the window ends with its second;
    /// `upper` is that second when later events in scope remain, else nil.
    public func reconcileItems(scope: ReconcileScope, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?) {
        let authors = scope.authors.map { Array($0) }
        let kinds = scope.kinds.map { $0.map(Int64.init) }
        let queries = WindowQueries(
            first: """
                SELECT created_at, id FROM events WHERE created_at >= \(lower)
                  AND (\(authors)::text[] IS NULL OR pubkey = ANY(\(authors)::text[])) AND (\(kinds)::int8[] IS NULL OR kind = ANY(\(kinds)::int8[]))
                ORDER BY created_at, id LIMIT \(max(1, maxItems))
                """,
            rest: { second, afterID in
                """
                SELECT id FROM events WHERE created_at = \(second) AND id > \(afterID)
                  AND (\(authors)::text[] IS NULL OR pubkey = ANY(\(authors)::text[])) AND (\(kinds)::int8[] IS NULL OR kind = ANY(\(kinds)::int8[]))
                ORDER BY id
                """
            },
            more: { second in
                """
                SELECT EXISTS (SELECT 1 FROM events WHERE created_at > \(second)
                  AND (\(authors)::text[] IS NULL OR pubkey = ANY(\(authors)::text[])) AND (\(kinds)::int8[] IS NULL OR kind = ANY(\(kinds)::int8[])))
                """
            })
        return try await connection { c in try await c.window(queries, maxItems: maxItems, logger: logger) }
    }

    /// As `Ledger.requeue`: superseded versions, expired events, NIP-09-deleted ones, those their
    /// author asked the relay to forget (NIP-62) and rejected rows are left alone; delivered or present rows count as lost after delivery. One query reads
    /// every item's rows and one statement requeues, whatever the number of items.
    public func requeue(relay: RelayURL, items: [LedgerItem], now: Int64, comparedAt: Int64?, apply: Bool) async throws -> RequeueResult {
        guard !items.isEmpty else { return RequeueResult() }
        return try await transaction { c in
            let rows = try await c.query(
                """
                SELECT u.ord, e.seq, e.replace_key, e.expiration, d.state, d.updated_at,
                       EXISTS (SELECT 1 FROM replaceable_heads h WHERE h.replace_key = e.replace_key AND h.event_id = e.id),
                       EXISTS (SELECT 1 FROM deleted_events x WHERE x.event_id = e.id AND x.pubkey = e.pubkey)
                       OR (e.kind != \(Int64(Kind.requestToVanish)) AND EXISTS (SELECT 1 FROM vanish_requests v
                           WHERE v.pubkey = e.pubkey AND v.relay IN (\(relay), '*') AND v.created_at >= e.created_at))
                FROM unnest(\(items.map(\.createdAt))::int8[], \(items.map(\.id.hex))::text[]) WITH ORDINALITY AS u(created_at, id, ord)
                JOIN events e ON e.created_at = u.created_at AND e.id = u.id
                LEFT JOIN deliveries d ON d.relay = \(relay) AND d.seq = e.seq
                """, logger: logger)
            var found: [Int64: (Int64, String?, Int64?, String?, Int64?, Bool, Bool)] = [:]
            for try await (ord, seq, replaceKey, expiration, state, updatedAt, isHead, deleted) in rows.decode(
                (Int64, Int64, String?, Int64?, String?, Int64?, Bool, Bool).self)
            {
                found[ord] = (seq, replaceKey, expiration, state, updatedAt, isHead, deleted)
            }
            var result = RequeueResult()
            var requeued: [Int64] = []
            var seen = Set<Int64>()
            for (i, item) in items.enumerated() {
                guard let (seq, replaceKey, expiration, stateText, updatedAt, isHead, deleted) = found[Int64(i + 1)] else {
                    result.unknown += 1
                    continue
                }
                let state = stateText.flatMap(DeliveryState.init(rawValue:))
                let ineligible = replaceKey != nil && !isHead || expiration.map({ $0 <= now }) ?? false || deleted
                if result.sort(item, ineligible: ineligible, state: state, updatedAt: updatedAt, comparedAt: comparedAt), apply, seen.insert(seq).inserted {
                    requeued.append(seq)
                }
            }
            if !requeued.isEmpty {
                try await c.exec(
                    """
                    INSERT INTO deliveries (relay, seq, state, updated_at) SELECT \(relay), s, 'pending', \(now) FROM unnest(\(requeued)::int8[]) AS s
                    ON CONFLICT (relay, seq) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = 0, reason = NULL, updated_at = excluded.updated_at
                    """, logger: logger)
            }
            return result
        }
    }

    public func markPresent(relay: RelayURL, items: [LedgerItem], now: Int64) async throws {
        guard !items.isEmpty else { return }
        var seen = Set<MarkKey>()
        let marks = items.map { MarkKey(relay: relay, key: EventKey(createdAt: $0.createdAt, id: $0.id.hex)) }.filter { seen.insert($0).inserted }
        try await transaction { c in try await Self.markPresent(c, marks, now: now, logger: logger) }
    }

    public func recordReconciliation(_ r: ReconciliationRecord) async throws {
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO reconciliations (relay, scope, started_at, finished_at, method, windows, ledger_events, relay_events, missing_on_relay,
                    missing_in_ledger, fetched, requeued, lost_after_delivery, messages, bytes, error)
                VALUES (\(r.relay), \(r.scope), \(r.startedAt), \(r.finishedAt), \(r.method.rawValue), \(r.windows), \(r.ledgerEvents), \(r.relayEvents),
                    \(r.missingOnRelay), \(r.missingInLedger), \(r.fetched), \(r.requeued), \(r.lostAfterDelivery), \(r.messages), \(r.bytes), \(r.error))
                """, logger: logger)
        }
    }

    /// Each relay's latest reconciliation of `scope` (tests, `status`).
    public func lastReconciliation(relay: RelayURL, scope: String = "authors") async throws -> (method: ReconcileMethod, requeued: Int, missingOnRelay: Int)? {
        try await connection { c in
            try await
                (try await c.query(
                    """
                    SELECT method, requeued, missing_on_relay FROM reconciliations WHERE relay = \(relay) AND scope = \(scope) ORDER BY id DESC LIMIT 1
                    """, logger: logger
                )).decode((String, Int64, Int64).self).all().first.map { (ReconcileMethod(stored: $0.0), Int($0.1), Int($0.2)) }
        }
    }
}
