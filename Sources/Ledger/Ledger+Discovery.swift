import GRDB
import NostrCore

extension Ledger {
    /// Keeps `event` as its author's cached relay list or profile when it is
    /// newer than the one held (NIP-01: the later `created_at`, then the lower
    /// id). Returns whether it replaced the cache.
    @discardableResult
    public func cacheAuthorMetadata(_ event: Event, from relay: RelayURL, at time: Int64) throws -> Bool {
        try write("cache author metadata") { db in
            let current = try Row.fetchOne(
                db, sql: "SELECT event_id, created_at FROM author_metadata WHERE pubkey = ? AND kind = ?",
                arguments: [event.pubkey, event.kind])
            if let current {
                let id: String = current[0], createdAt: Int64 = current[1]
                if id == event.id {
                    try db.execute(
                        sql: "UPDATE author_metadata SET fetched_at = ? WHERE pubkey = ? AND kind = ?",
                        arguments: [time, event.pubkey, event.kind])
                    return false
                }
                if createdAt > event.createdAt || (createdAt == event.createdAt && id < event.id) { return false }
            }
            try db.execute(
                sql: """
                    INSERT INTO author_metadata (pubkey, kind, event_id, created_at, raw, source_relay, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (pubkey, kind) DO UPDATE SET event_id = excluded.event_id, created_at = excluded.created_at,
                        raw = excluded.raw, source_relay = excluded.source_relay, fetched_at = excluded.fetched_at
                    """, arguments: [event.pubkey, event.kind, event.id, event.createdAt, event.rawJSON, relay, time])
            return true
        }
    }

    /// The cached events of `kind` for `pubkeys`, by author.
    public func authorMetadata(kind: Int, pubkeys: [String]) throws -> [String: CachedAuthorMetadata] {
        let wanted = Set(pubkeys)
        return try read("read author metadata") { db in
            var out: [String: CachedAuthorMetadata] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT pubkey, raw, source_relay, fetched_at FROM author_metadata WHERE kind = ?", arguments: [kind]) {
                let pubkey: String = row[0]
                guard wanted.contains(pubkey) else { continue }
                out[pubkey] = CachedAuthorMetadata(raw: row[1], sourceRelay: row[2], fetchedAt: row[3])
            }
            return out
        }
    }

    public func noteDiscoveryChecked(_ pubkeys: [String], at time: Int64) throws {
        try write("note discovery check") { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO discovery_checks (pubkey, checked_at) VALUES (?, ?)
                    ON CONFLICT (pubkey) DO UPDATE SET checked_at = excluded.checked_at
                    """)
            for pubkey in pubkeys { try upsert.execute(arguments: [pubkey, time]) }
        }
    }

    /// When the indexers were last asked about each author; never-asked authors are absent.
    public func discoveryChecks(_ pubkeys: [String]) throws -> [String: Int64] {
        let wanted = Set(pubkeys)
        return try read("read discovery checks") { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT pubkey, checked_at FROM discovery_checks") {
                let pubkey: String = row[0]
                if wanted.contains(pubkey) { out[pubkey] = row[1] }
            }
            return out
        }
    }

    /// Replaces the recorded figures of each relay in `records`; a record
    /// without figures or information keeps what was recorded before.
    public func saveRelayHealth(_ records: [RelayURL: RelayHealthRecord]) throws {
        try write("save relay health") { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO relay_health (url, figures, information, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (url) DO UPDATE SET figures = COALESCE(excluded.figures, relay_health.figures),
                        information = COALESCE(excluded.information, relay_health.information), updated_at = excluded.updated_at
                    """)
            for (url, r) in records { try upsert.execute(arguments: [url, r.figuresJSON, r.informationJSON, r.updatedAt]) }
        }
    }

    public func relayHealthRecords() throws -> [RelayURL: RelayHealthRecord] {
        try read("read relay health") { db in
            var out: [RelayURL: RelayHealthRecord] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT url, figures, information, updated_at FROM relay_health") {
                guard let url = RelayURL(row[0] as String) else { continue }
                out[url] = RelayHealthRecord(figuresJSON: row[1], informationJSON: row[2], updatedAt: row[3])
            }
            return out
        }
    }
}
