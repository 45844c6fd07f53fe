import Logging
import PostgresNIO

/// The PostgreSQL ledger's migrations, in `relaysync_migrations`. A shipped migration is never
/// edited: changes come as new ones. Agents that start together on a new database migrate it
/// once: each takes a transaction-scoped advisory lock first, and the one that waited finds the
/// migrations done.
enum PostgresSchema {
    static let migrationLock: Int64 = 0x7273_7963_6d69_6701

    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE events (
                    seq BIGSERIAL PRIMARY KEY,
                    id TEXT NOT NULL,
                    pubkey TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    created_at BIGINT NOT NULL,
                    d_tag TEXT,
                    replace_key TEXT,
                    expiration BIGINT,
                    first_relay TEXT NOT NULL,
                    first_seen_at BIGINT NOT NULL,
                    raw TEXT NOT NULL,
                    UNIQUE (created_at, id)
                )
                """,
                "CREATE INDEX events_replace_key ON events (replace_key) WHERE replace_key IS NOT NULL",
                "CREATE INDEX events_author_time ON events (pubkey, created_at)",
                "CREATE TABLE replaceable_heads (replace_key TEXT PRIMARY KEY, event_id TEXT NOT NULL, created_at BIGINT NOT NULL)",
                """
                CREATE TABLE deliveries (
                    relay TEXT NOT NULL,
                    seq BIGINT NOT NULL REFERENCES events (seq),
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL DEFAULT 0,
                    reason TEXT,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (relay, seq)
                )
                """,
                "CREATE INDEX deliveries_pending ON deliveries (relay, seq) WHERE state = 'pending'",
                """
                CREATE TABLE cursors (
                    relay TEXT NOT NULL, pubkey TEXT NOT NULL, until_ts BIGINT, complete BOOLEAN NOT NULL DEFAULT false, newest_seen BIGINT,
                    PRIMARY KEY (relay, pubkey)
                )
                """,
                """
                CREATE TABLE relays (
                    url TEXT PRIMARY KEY, last_success_at BIGINT, last_error TEXT, last_error_at BIGINT,
                    deliveries_ensured_through BIGINT NOT NULL DEFAULT 0, ignores_limit_zero BOOLEAN NOT NULL DEFAULT false
                )
                """,
                """
                CREATE TABLE runs (
                    id BIGSERIAL PRIMARY KEY, mode TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, exit_code INTEGER, summary TEXT
                )
                """,
                """
                CREATE TABLE scope_problems (
                    relay TEXT NOT NULL, scope TEXT NOT NULL, problem TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (relay, scope)
                )
                """,
                "CREATE TABLE archive_state (id INTEGER PRIMARY KEY CHECK (id = 1), archived_through_seq BIGINT NOT NULL)",
                "INSERT INTO archive_state VALUES (1, 0)",
                "CREATE TABLE deleted_events (event_id TEXT NOT NULL, pubkey TEXT NOT NULL, PRIMARY KEY (event_id, pubkey))",
                """
                CREATE TABLE reconciliations (
                    id BIGSERIAL PRIMARY KEY, relay TEXT NOT NULL, scope TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL,
                    method TEXT NOT NULL, windows BIGINT NOT NULL, ledger_events BIGINT NOT NULL, relay_events BIGINT, missing_on_relay BIGINT NOT NULL,
                    missing_in_ledger BIGINT NOT NULL, fetched BIGINT NOT NULL, requeued BIGINT NOT NULL, lost_after_delivery BIGINT NOT NULL,
                    messages BIGINT NOT NULL, bytes BIGINT NOT NULL, error TEXT
                )
                """,
            ]
        ),
        (
            "v2-cluster",
            [
                // Times here are the database's (now()), so agents' clocks never have to agree.
                """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
                    started_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_heartbeat TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE leases (
                    resource TEXT PRIMARY KEY, holder TEXT, generation BIGINT NOT NULL DEFAULT 0, expires_at TIMESTAMPTZ NOT NULL
                )
                """,
                // What lease-protected writes refused: a holder that lost its lease tried to write.
                """
                CREATE TABLE fenced_writes (
                    id BIGSERIAL PRIMARY KEY, resource TEXT NOT NULL, holder TEXT NOT NULL, generation BIGINT NOT NULL,
                    what TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
            ]
        ),
        (
            "v3-ledger-copy",
            [
                // `ledger copy`: per source file and table, the key of the last row copied, written in
                // the same transaction as that batch, so a copy interrupted anywhere resumes after it.
                """
                CREATE TABLE ledger_copy_progress (
                    source TEXT NOT NULL, table_name TEXT NOT NULL, last_key TEXT NOT NULL, copied BIGINT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (source, table_name)
                )
                """
            ]
        ),
        (
            "v4-discovery",
            [
                // The discovery cache, as the SQLite ledger's v2-discovery: each author's newest relay
                // list, DM relay list and profile, when the indexers were last asked about an author,
                // and the health and NIP-11 figures last measured per relay.
                """
                CREATE TABLE author_metadata (
                    pubkey TEXT NOT NULL, kind BIGINT NOT NULL, event_id TEXT NOT NULL, created_at BIGINT NOT NULL, raw TEXT NOT NULL,
                    source_relay TEXT NOT NULL, fetched_at BIGINT NOT NULL, PRIMARY KEY (pubkey, kind)
                )
                """,
                "CREATE TABLE discovery_checks (pubkey TEXT PRIMARY KEY, checked_at BIGINT NOT NULL)",
                "CREATE TABLE relay_health (url TEXT PRIMARY KEY, figures TEXT, information TEXT, updated_at BIGINT NOT NULL)",
            ]
        ),
        (
            "v5-vanish",
            [
                // NIP-62: an author asked `relay` (or every relay, '*') to forget its events up to
                // `created_at`. Such events are never pushed there again.
                """
                CREATE TABLE vanish_requests (
                    pubkey TEXT NOT NULL, relay TEXT NOT NULL, created_at BIGINT NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (pubkey, relay)
                )
                """
            ]
        ),
        (
            "v6-scope-indexes",
            [
                // The inbox and filter scopes, as the SQLite ledger's: each index (a recipient's
                // `p` tag, a configured filter) by key, how far it has read the ledger, and its events.
                """
                CREATE TABLE scope_indexes (
                    id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, indexed_through_seq BIGINT NOT NULL DEFAULT 0
                )
                """,
                """
                CREATE TABLE scope_events (
                    scope BIGINT NOT NULL, created_at BIGINT NOT NULL, id TEXT NOT NULL, kind BIGINT NOT NULL, PRIMARY KEY (scope, created_at, id)
                )
                """,
            ]
        ),
        (
            "v7-ledger-outages",
            [
                // When an agent could not reach the database, written by the agent once it can
                // again (its own clock, unix seconds: the database was not there to ask), for `status`.
                """
                CREATE TABLE ledger_outages (
                    id BIGSERIAL PRIMARY KEY, agent TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL, error TEXT NOT NULL
                )
                """
            ]
        ),
    ]

    /// Applies what is not applied yet, in one transaction under the migration lock.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { c in
            try await c.exec("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await c.exec(
                "CREATE TABLE IF NOT EXISTS relaysync_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            let applied = Set(try await (try await c.query("SELECT name FROM relaysync_migrations", logger: logger)).decode(String.self).all())
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await c.exec(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await c.exec("INSERT INTO relaysync_migrations (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }
}
