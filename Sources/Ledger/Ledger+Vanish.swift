import GRDB
import NostrCore

extension Ledger {
    /// True for event `e` when its author asked the relay bound here (or every relay) to vanish
    /// at or after its `created_at` (NIP-62). The request itself stays deliverable.
    /// Two look-ups rather than `v.relay IN (?, '*')`: SQLite builds that list as a temporary
    /// b-tree at every execution, about a fifth of `requeue`'s look-up per item.
    static let vanishedSQL = """
        (e.kind != \(Kind.requestToVanish) AND (EXISTS (SELECT 1 FROM vanish_requests v
            WHERE v.pubkey = e.pubkey AND v.relay = ? AND v.created_at >= e.created_at)
          OR EXISTS (SELECT 1 FROM vanish_requests v
            WHERE v.pubkey = e.pubkey AND v.relay = '*' AND v.created_at >= e.created_at)))
        """

    /// Records a NIP-62 request to vanish and stops what is still owed to the relays it names:
    /// the author's earlier events pending there become `rejected` with the reason, never retried.
    static func noteVanish(_ db: Database, by request: Event) throws {
        guard let targets = request.vanishTargets else { return }
        var relays: [String] = []
        for target in targets {
            let relay = target == Event.allRelays ? "*" : RelayURL.normalize(target)
            if let relay, !relays.contains(relay) { relays.append(relay) }
        }
        for relay in relays {
            try db.execute(
                sql: """
                    INSERT INTO vanish_requests (pubkey, relay, created_at, event_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT (pubkey, relay) DO UPDATE SET created_at = excluded.created_at, event_id = excluded.event_id
                    WHERE excluded.created_at > vanish_requests.created_at
                    """, arguments: [request.pubkey, relay, request.createdAt, request.id])
            try db.execute(
                sql: """
                    UPDATE deliveries SET state = 'rejected', reason = ?, updated_at = CAST(strftime('%s', 'now') AS INTEGER)
                    WHERE state = 'pending' AND (? = '*' OR relay = ?)
                      AND seq IN (SELECT seq FROM events WHERE pubkey = ? AND created_at <= ? AND kind != ?)
                    """,
                arguments: [Self.vanishReason(request.id), relay, relay, request.pubkey, request.createdAt, Kind.requestToVanish])
        }
    }

    /// Why a delivery was stopped by a request to vanish: the text before and after the request
    /// id's first 16 characters, shared with the PostgreSQL ledger, which builds it in SQL.
    public static let vanishReasonText = (before: "vanish: the author asked this relay to forget it (NIP-62 ", after: ")")

    static func vanishReason(_ requestID: String) -> String { vanishReasonText.before + requestID.prefix(16) + vanishReasonText.after }

    /// A new event of an author who asked relays to vanish: what it would owe those relays, when
    /// it is no newer than the request, is rejected instead (a backdated copy arriving late).
    static func honourVanish(
        _ db: Database, seq: Int64, createdAt: Int64, requests: [(relay: String, createdAt: Int64, id: String)], now: Int64
    ) throws {
        for request in requests where createdAt <= request.createdAt {
            try db.cachedStatement(
                sql: """
                    UPDATE deliveries SET state = 'rejected', reason = ?, updated_at = ?
                    WHERE seq = ? AND state = 'pending' AND (? = '*' OR relay = ?)
                    """
            ).execute(arguments: [vanishReason(request.id), now, seq, request.relay, request.relay])
        }
    }

    /// The requests to vanish on record: author → (relay or "*", up to created_at).
    func loadVanishRequests() throws -> [String: [(relay: String, createdAt: Int64, id: String)]] {
        try read("read vanish requests") { db in try Self.vanishRequests(db) }
    }

    static func vanishRequests(_ db: Database) throws -> [String: [(relay: String, createdAt: Int64, id: String)]] {
        var out: [String: [(relay: String, createdAt: Int64, id: String)]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT pubkey, relay, created_at, event_id FROM vanish_requests") {
            out[row[0], default: []].append((relay: row[1], createdAt: row[2], id: row[3]))
        }
        return out
    }

    /// The NIP-62 requests recorded, for reports: author, relay ("*" for all), and up to when.
    public func vanishRequests() throws -> [(pubkey: String, relay: String, createdAt: Int64)] {
        try loadVanishRequests().flatMap { pubkey, list in list.map { (pubkey: pubkey, relay: $0.relay, createdAt: $0.createdAt) } }
            .sorted { ($0.pubkey, $0.relay) < ($1.pubkey, $1.relay) }
    }
}
