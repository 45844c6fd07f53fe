import GRDB
import NostrCore

/// Versioned migrations. A shipped migration is never edited: changes come as new ones.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        pubkey TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        d_tag TEXT,
                        replace_key TEXT,
                        expiration INTEGER,
                        first_relay TEXT NOT NULL,
                        first_seen_at INTEGER NOT NULL,
                        raw TEXT NOT NULL
                    );
                    CREATE INDEX events_replace_key ON events(replace_key) WHERE replace_key IS NOT NULL;
                    CREATE INDEX events_author_time ON events(pubkey, created_at);

                    -- Newest known version per replaceable/addressable key.
                    CREATE TABLE replaceable_heads (
                        replace_key TEXT PRIMARY KEY,
                        event_id TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );

                    CREATE TABLE deliveries (
                        relay TEXT NOT NULL,
                        seq INTEGER NOT NULL REFERENCES events(seq),
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL DEFAULT 0,
                        reason TEXT,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (relay, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX deliveries_pending ON deliveries(relay, seq) WHERE state = 'pending';

                    CREATE TABLE cursors (
                        relay TEXT NOT NULL,
                        pubkey TEXT NOT NULL,
                        until_ts INTEGER,
                        complete INTEGER NOT NULL DEFAULT 0,
                        newest_seen INTEGER,
                        PRIMARY KEY (relay, pubkey)
                    ) WITHOUT ROWID;

                    CREATE TABLE relays (
                        url TEXT PRIMARY KEY,
                        last_success_at INTEGER,
                        last_error TEXT,
                        last_error_at INTEGER,
                        -- Events up to this seq already have a delivery row for this relay.
                        deliveries_ensured_through INTEGER NOT NULL DEFAULT 0
                    );

                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        mode TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER,
                        exit_code INTEGER,
                        summary TEXT
                    );

                    CREATE TABLE archive_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        archived_through_seq INTEGER NOT NULL
                    );
                    INSERT INTO archive_state VALUES (1, 0);
                    """)
        }
        m.registerMigration("v2-discovery") { db in
            try db.execute(
                sql: """
                    -- Newest relay list (10002) and profile (0) per author, whoever served it.
                    CREATE TABLE author_metadata (
                        pubkey TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        event_id TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        raw TEXT NOT NULL,
                        source_relay TEXT NOT NULL,
                        fetched_at INTEGER NOT NULL,
                        PRIMARY KEY (pubkey, kind)
                    ) WITHOUT ROWID;

                    -- When the indexers were last asked about an author, found or not,
                    -- so a restart does not ask again before the refresh interval.
                    CREATE TABLE discovery_checks (
                        pubkey TEXT PRIMARY KEY,
                        checked_at INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    -- Health and NIP-11 figures the daemon last measured, for `relays` and selection after a restart.
                    CREATE TABLE relay_health (
                        url TEXT PRIMARY KEY,
                        figures TEXT,
                        information TEXT,
                        updated_at INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("v3-events-unique-by-time") { db in
            // A unique index on the id alone puts every new event on a random page of that index:
            // past a few tens of thousands of events each commit rewrote about one index page per
            // event, and SQLite's write-ahead log and checkpoints made that the ledger's main cost.
            // (created_at, id) is just as unique for verified events (the id hashes created_at),
            // and events arrive roughly in time order, so inserts land on a few pages. SQLite
            // cannot drop a column's UNIQUE, so the table is rebuilt (SQLite's documented way);
            // GRDB runs this with foreign keys off and checks them before committing.
            let next = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            try db.execute(
                sql: """
                    CREATE TABLE events_v3 (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL,
                        pubkey TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        d_tag TEXT,
                        replace_key TEXT,
                        expiration INTEGER,
                        first_relay TEXT NOT NULL,
                        first_seen_at INTEGER NOT NULL,
                        raw TEXT NOT NULL,
                        UNIQUE (created_at, id)
                    );
                    INSERT INTO events_v3 (seq, id, pubkey, kind, created_at, d_tag, replace_key, expiration, first_relay, first_seen_at, raw)
                        SELECT seq, id, pubkey, kind, created_at, d_tag, replace_key, expiration, first_relay, first_seen_at, raw FROM events ORDER BY seq;
                    DROP TABLE events;
                    ALTER TABLE events_v3 RENAME TO events;
                    CREATE INDEX events_replace_key ON events(replace_key) WHERE replace_key IS NOT NULL;
                    CREATE INDEX events_author_time ON events(pubkey, created_at);
                    """)
            // AUTOINCREMENT's high-water mark survives, so a seq is never handed out twice.
            if let next {
                try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = 'events'")
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", arguments: [next])
            }
        }
        m.registerMigration("v4-no-author-index") { db in
            // No query reads events by author: the index only cost an insert on every recorded
            // event (a quarter of the recording's CPU in scripts/ledger-write-model.py, 20 authors)
            // and about 80 bytes per event on disk.
            try db.execute(sql: "DROP INDEX IF EXISTS events_author_time")
        }
        m.registerMigration("v5-reconciliation") { db in
            try db.execute(
                sql: """
                    -- One row per comparison of a relay's set with the ledger's (NIP-77 or REQ windows).
                    CREATE TABLE reconciliations (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        relay TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER NOT NULL,
                        method TEXT NOT NULL,
                        windows INTEGER NOT NULL,
                        ledger_events INTEGER NOT NULL,
                        relay_events INTEGER,
                        missing_on_relay INTEGER NOT NULL,
                        missing_in_ledger INTEGER NOT NULL,
                        fetched INTEGER NOT NULL,
                        requeued INTEGER NOT NULL,
                        lost_after_delivery INTEGER NOT NULL,
                        messages INTEGER NOT NULL,
                        bytes INTEGER NOT NULL,
                        error TEXT
                    );
                    CREATE INDEX reconciliations_by_relay ON reconciliations(relay, id);

                    -- NIP-09: ids a kind-5 event of the same author asked relays to delete. Such
                    -- events are never pushed again, whatever a relay is missing.
                    CREATE TABLE deleted_events (
                        event_id TEXT NOT NULL,
                        pubkey TEXT NOT NULL,
                        PRIMARY KEY (event_id, pubkey)
                    ) WITHOUT ROWID;
                    INSERT OR IGNORE INTO deleted_events (event_id, pubkey)
                        SELECT json_extract(t.value, '$[1]'), e.pubkey FROM events e, json_each(json_extract(e.raw, '$.tags')) t
                        WHERE e.kind = 5 AND json_extract(t.value, '$[0]') = 'e' AND json_type(t.value, '$[1]') = 'text';

                    -- Relays whose live subscriptions ignore NIP-01 `limit: 0` (they send stored events first).
                    ALTER TABLE relays ADD COLUMN ignores_limit_zero INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        m.registerMigration("v6-scopes-and-vanish") { db in
            try db.execute(
                sql: """
                    -- Indexes of the ledger's events by scope beyond the authors' own: one per inbox
                    -- recipient (`p:<pubkey>`, every recorded event that p-tags it) and one per configured
                    -- filter (`f:<sha256 of the filter>`), so a scope is reconciled without reading every event.
                    CREATE TABLE scope_indexes (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL UNIQUE,
                        definition TEXT NOT NULL,
                        -- Every event up to this seq has been matched against the index.
                        indexed_through_seq INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE scope_events (
                        scope INTEGER NOT NULL REFERENCES scope_indexes(id),
                        created_at INTEGER NOT NULL,
                        id TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        PRIMARY KEY (scope, created_at, id)
                    ) WITHOUT ROWID;

                    -- NIP-62: an author asked `relay` (or every relay, '*') to forget its events up to
                    -- `created_at`. Such events are never pushed there again.
                    CREATE TABLE vanish_requests (
                        pubkey TEXT NOT NULL,
                        relay TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        event_id TEXT NOT NULL,
                        PRIMARY KEY (pubkey, relay)
                    ) WITHOUT ROWID;

                    -- What stands in the way of reading a scope from a relay (an AUTH the agent cannot
                    -- answer, say); NULL once it reads again.
                    CREATE TABLE scope_problems (
                        relay TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        problem TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (relay, scope)
                    ) WITHOUT ROWID;

                    ALTER TABLE reconciliations ADD COLUMN scope TEXT NOT NULL DEFAULT 'authors';
                    DROP INDEX reconciliations_by_relay;
                    CREATE INDEX reconciliations_by_relay ON reconciliations(relay, scope, id);
                    """)
            // Requests to vanish already recorded: relay URLs are normalised here, not in SQL.
            let raws = try String.fetchAll(db, sql: "SELECT raw FROM events WHERE kind = ?", arguments: [Kind.requestToVanish])
            for raw in raws {
                guard let event = try? Event(json: raw) else { continue }
                try Ledger.noteVanish(db, by: event)
            }
        }
        m.registerMigration("v7-media-blobs") { db in try LedgerSchema.mediaBlobs(db) }
        m.registerMigration("v8-author-census") { db in
            // The distinct authors of the events, up to 4,096 (`AuthorCensus`), or only that
            // there are more: read at every reconciliation instead of a pass over the table.
            // counted_through is the events' AUTOINCREMENT mark the census counted up to, and
            // events how many events it counted (the ledger never deletes one).
            try db.execute(
                sql: """
                    CREATE TABLE event_authors (pubkey TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                    CREATE TABLE event_author_census (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        overflowed INTEGER NOT NULL DEFAULT 0,
                        counted_through INTEGER NOT NULL DEFAULT -1,
                        events INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO event_author_census (id) VALUES (1);
                    """)
            try AuthorCensus.recount(db)
        }
        return m
    }
}
