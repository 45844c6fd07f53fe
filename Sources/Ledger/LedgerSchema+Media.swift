import GRDB

extension LedgerSchema {
    /// Blossom media (issue 24): the blobs the recorded events point at, where they may be fetched
    /// from, and where each stands on each backup server.
    static func mediaBlobs(_ db: Database) throws {
        try db.execute(
            sql: """
                -- One row per blob (its SHA-256). state: pending (to fetch; next_attempt says when),
                -- kept (in the local store), failed (given up: reason in failure).
                CREATE TABLE blobs (
                    hash TEXT PRIMARY KEY,
                    size INTEGER,
                    type TEXT,
                    state TEXT NOT NULL DEFAULT 'pending',
                    failure TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt INTEGER NOT NULL DEFAULT 0,
                    first_seen INTEGER NOT NULL,
                    kept_at INTEGER,
                    source TEXT
                ) WITHOUT ROWID;
                CREATE INDEX blobs_due ON blobs(state, next_attempt);

                -- Which events reference which blob (and who wrote them: their BUD-03 servers are a fallback).
                CREATE TABLE blob_refs (
                    hash TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    pubkey TEXT NOT NULL,
                    PRIMARY KEY (hash, event_id)
                ) WITHOUT ROWID;

                -- URLs a note gave for a blob, and how each fared.
                CREATE TABLE blob_sources (
                    hash TEXT NOT NULL,
                    url TEXT NOT NULL,
                    failure TEXT,
                    PRIMARY KEY (hash, url)
                ) WITHOUT ROWID;

                -- Each author's newest kind 10063 server list (BUD-03).
                CREATE TABLE blob_server_lists (
                    pubkey TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    event_id TEXT NOT NULL,
                    servers TEXT NOT NULL
                ) WITHOUT ROWID;

                -- A blob's state on each configured backup server: pending, present, failed.
                CREATE TABLE blob_mirrors (
                    hash TEXT NOT NULL,
                    server TEXT NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    failure TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt INTEGER NOT NULL DEFAULT 0,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (hash, server)
                ) WITHOUT ROWID;
                CREATE INDEX blob_mirrors_due ON blob_mirrors(state, next_attempt);

                -- How far the media side has read the events table for references (events.seq).
                CREATE TABLE media_scan (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    last_seq INTEGER NOT NULL
                );
                """)
    }
}
