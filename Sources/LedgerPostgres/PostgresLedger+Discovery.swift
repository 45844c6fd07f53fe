import Ledger
import NostrCore
import PostgresNIO

extension PostgresLedger: DiscoveryStore {
    @discardableResult
    public func cacheAuthorMetadata(_ event: Event, from relay: RelayURL, at time: Int64) async throws -> Bool {
        let kind = Int64(event.kind)
        return try await transaction { c in
            let current = try await
                (try await c.query(
                    "SELECT event_id, created_at FROM author_metadata WHERE pubkey = \(event.pubkey) AND kind = \(kind) FOR UPDATE", logger: logger)).decode(
                    (String, Int64).self
                ).all().first
            if let (id, createdAt) = current {
                if id == event.id {
                    try await c.exec(
                        "UPDATE author_metadata SET fetched_at = \(time) WHERE pubkey = \(event.pubkey) AND kind = \(kind)", logger: logger)
                    return false
                }
                if createdAt > event.createdAt || (createdAt == event.createdAt && id < event.id) { return false }
            }
            try await c.exec(
                """
                INSERT INTO author_metadata (pubkey, kind, event_id, created_at, raw, source_relay, fetched_at)
                VALUES (\(event.pubkey), \(kind), \(event.id), \(event.createdAt), \(event.rawJSON), \(relay), \(time))
                ON CONFLICT (pubkey, kind) DO UPDATE SET event_id = excluded.event_id, created_at = excluded.created_at,
                    raw = excluded.raw, source_relay = excluded.source_relay, fetched_at = excluded.fetched_at
                """, logger: logger)
            return true
        }
    }

    public func authorMetadata(kind: Int, pubkeys: [String]) async throws -> [String: CachedAuthorMetadata] {
        try await connection { c in
            var out: [String: CachedAuthorMetadata] = [:]
            let rows = try await c.query(
                """
                SELECT pubkey, raw, source_relay, fetched_at FROM author_metadata WHERE kind = \(Int64(kind)) AND pubkey = ANY(\(pubkeys)::text[])
                """, logger: logger)
            for try await (pubkey, raw, source, fetchedAt) in rows.decode((String, String, String, Int64).self) {
                out[pubkey] = CachedAuthorMetadata(raw: raw, sourceRelay: source, fetchedAt: fetchedAt)
            }
            return out
        }
    }

    public func noteDiscoveryChecked(_ pubkeys: [String], at time: Int64) async throws {
        guard !pubkeys.isEmpty else { return }
        try await connection { c in
            try await c.exec(
                """
                INSERT INTO discovery_checks (pubkey, checked_at) SELECT p, \(time) FROM unnest(\(pubkeys)::text[]) AS p
                ON CONFLICT (pubkey) DO UPDATE SET checked_at = excluded.checked_at
                """, logger: logger)
        }
    }

    public func discoveryChecks(_ pubkeys: [String]) async throws -> [String: Int64] {
        try await connection { c in
            var out: [String: Int64] = [:]
            let rows = try await c.query(
                "SELECT pubkey, checked_at FROM discovery_checks WHERE pubkey = ANY(\(pubkeys)::text[])", logger: logger)
            for try await (pubkey, checkedAt) in rows.decode((String, Int64).self) { out[pubkey] = checkedAt }
            return out
        }
    }

    public func saveRelayHealth(_ records: [RelayURL: RelayHealthRecord]) async throws {
        guard !records.isEmpty else { return }
        try await transaction { c in
            for (url, r) in records {
                try await c.exec(
                    """
                    INSERT INTO relay_health (url, figures, information, updated_at) VALUES (\(url), \(r.figuresJSON), \(r.informationJSON), \(r.updatedAt))
                    ON CONFLICT (url) DO UPDATE SET figures = COALESCE(excluded.figures, relay_health.figures),
                        information = COALESCE(excluded.information, relay_health.information), updated_at = excluded.updated_at
                    """, logger: logger)
            }
        }
    }

    public func relayHealthRecords() async throws -> [RelayURL: RelayHealthRecord] {
        try await connection { c in
            var out: [RelayURL: RelayHealthRecord] = [:]
            let rows = try await c.query("SELECT url, figures, information, updated_at FROM relay_health", logger: logger)
            for try await (text, figures, information, updatedAt) in rows.decode((String, String?, String?, Int64).self) {
                guard let url = RelayURL(text) else { continue }
                out[url] = RelayHealthRecord(figuresJSON: figures, informationJSON: information, updatedAt: updatedAt)
            }
            return out
        }
    }
}
