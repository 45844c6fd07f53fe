import GRDB

/// A blob's state in the ledger.
public enum BlobState: String, Sendable {
    /// To fetch (again) from `next_attempt` on.
    case pending
    /// Verified and in the local store.
    case kept
    /// Given up; the reason is kept.
    case failed
}

/// A blob's state on one backup server.
public enum BlobMirrorState: String, Sendable {
    case pending, present, failed
}

/// One reference found in one event.
public struct BlobReferenceRecord: Sendable, Hashable {
    public var hash: String
    public var eventID: String
    public var pubkey: String
    /// Where the note said the blob is (nil for a bare hash).
    public var url: String?
    public var size: Int64?
    public var type: String?

    public init(hash: String, eventID: String, pubkey: String, url: String?, size: Int64? = nil, type: String? = nil) {
        self.hash = hash
        self.eventID = eventID
        self.pubkey = pubkey
        self.url = url
        self.size = size
        self.type = type
    }
}

/// An author's kind 10063 list (BUD-03).
public struct AuthorServerList: Sendable, Hashable {
    public var pubkey: String
    public var eventID: String
    public var createdAt: Int64
    public var servers: [String]

    public init(pubkey: String, eventID: String, createdAt: Int64, servers: [String]) {
        self.pubkey = pubkey
        self.eventID = eventID
        self.createdAt = createdAt
        self.servers = servers
    }
}

/// A blob due to be fetched, with every place it may come from.
public struct DueBlob: Sendable, Hashable {
    public var hash: String
    public var size: Int64?
    public var type: String?
    public var attempts: Int
    /// URLs notes gave, then the authors' BUD-03 servers (base URLs).
    public var urls: [String]
    public var authorServers: [String]
}

/// A kept blob due on a backup server.
public struct DueMirror: Sendable, Hashable {
    public var hash: String
    public var server: String
    public var size: Int64
    public var type: String?
    public var attempts: Int
    /// Where the blob was fetched from (offered to the server's /mirror).
    public var source: String?
}

/// What the media side holds, for status and the summary.
public struct MediaCounts: Sendable, Equatable, Codable {
    public var kept = 0
    public var keptBytes: Int64 = 0
    public var pending = 0
    public var failed = 0
    public var failedByReason: [String: Int] = [:]
    /// Pending blobs that failed before and wait for a retry, by the last reason (`disk budget reached`, `timeout`...).
    public var waitingByReason: [String: Int] = [:]
    /// Per backup server: state → count.
    public var mirrors: [String: [String: Int]] = [:]
    public var mirrorFailuresByReason: [String: Int] = [:]
    public var references = 0
    /// Bytes in the local store (set by the media side, which owns the folder).
    public var diskBytes: Int64 = 0
    public init() {}
}

extension Ledger {
    /// The last events.seq scanned for references.
    public func mediaScanPosition() throws -> Int64 {
        try read("read media scan position") { db in
            try Int64.fetchOne(db, sql: "SELECT last_seq FROM media_scan WHERE id = 1") ?? 0
        }
    }

    /// Recorded events after `seq`, oldest first: (seq, raw JSON).
    public func mediaEvents(after seq: Int64, limit: Int) throws -> [(seq: Int64, raw: String)] {
        try read("read events for media") { db in
            try Row.fetchAll(db, sql: "SELECT seq, raw FROM events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit]).map {
                (seq: $0[0] as Int64, raw: $0[1] as String)
            }
        }
    }

    /// Records references and server lists found in events up to `scannedThrough`, and moves the
    /// scan position there, in one transaction: a crash re-scans, never skips.
    public func recordBlobReferences(
        _ refs: [BlobReferenceRecord], serverLists: [AuthorServerList], scannedThrough: Int64, now: Int64
    ) async throws {
        try await writer.write("record blob references") { db in
            for r in refs {
                try db.execute(
                    sql: """
                        INSERT INTO blobs (hash, size, type, first_seen) VALUES (?, ?, ?, ?)
                        ON CONFLICT (hash) DO UPDATE SET size = coalesce(blobs.size, excluded.size), type = coalesce(blobs.type, excluded.type)
                        """, arguments: [r.hash, r.size, r.type, now])
                try db.execute(sql: "INSERT OR IGNORE INTO blob_refs (hash, event_id, pubkey) VALUES (?, ?, ?)", arguments: [r.hash, r.eventID, r.pubkey])
                if let url = r.url {
                    try db.execute(sql: "INSERT OR IGNORE INTO blob_sources (hash, url) VALUES (?, ?)", arguments: [r.hash, url])
                }
            }
            for l in serverLists {
                try db.execute(
                    sql: """
                        INSERT INTO blob_server_lists (pubkey, created_at, event_id, servers) VALUES (?, ?, ?, ?)
                        ON CONFLICT (pubkey) DO UPDATE SET created_at = excluded.created_at, event_id = excluded.event_id, servers = excluded.servers
                        WHERE excluded.created_at > blob_server_lists.created_at
                           OR (excluded.created_at = blob_server_lists.created_at AND excluded.event_id < blob_server_lists.event_id)
                        """, arguments: [l.pubkey, l.createdAt, l.eventID, l.servers.joined(separator: "\n")])
            }
            try db.execute(
                sql: "INSERT INTO media_scan (id, last_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                arguments: [scannedThrough])
        }
    }

    /// Pending blobs whose time has come, oldest first.
    public func dueBlobs(now: Int64, limit: Int) throws -> [DueBlob] {
        try read("read due blobs") { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT hash, size, type, attempts FROM blobs WHERE state = 'pending' AND next_attempt <= ? ORDER BY next_attempt, first_seen LIMIT ?",
                arguments: [now, limit])
            return try rows.map { row in
                let hash: String = row[0]
                let urls = try String.fetchAll(db, sql: "SELECT url FROM blob_sources WHERE hash = ? ORDER BY url", arguments: [hash])
                let lists = try String.fetchAll(
                    db,
                    sql: """
                        SELECT l.servers FROM blob_server_lists l
                        WHERE l.pubkey IN (SELECT pubkey FROM blob_refs WHERE hash = ?) ORDER BY l.pubkey
                        """, arguments: [hash])
                var servers: [String] = []
                for l in lists { for s in l.split(separator: "\n") where !servers.contains(String(s)) { servers.append(String(s)) } }
                return DueBlob(hash: hash, size: row[1], type: row[2], attempts: row[3], urls: urls, authorServers: servers)
            }
        }
    }

    /// Whether the ledger says this blob is kept (the store is checked beside it).
    public func blobState(_ hash: String) throws -> BlobState? {
        try read("read blob state") { db in
            try String.fetchOne(db, sql: "SELECT state FROM blobs WHERE hash = ?", arguments: [hash]).flatMap(BlobState.init(rawValue:))
        }
    }

    /// The blob is in the store: marks it kept and schedules it on every backup server.
    public func blobKept(_ hash: String, size: Int64, type: String?, source: String?, backupServers: [String], now: Int64) async throws {
        try await writer.write("record kept blob") { db in
            try db.execute(
                sql: """
                    UPDATE blobs SET state = 'kept', size = ?, type = coalesce(?, type), failure = NULL, kept_at = ?, source = ?,
                        attempts = attempts + 1 WHERE hash = ?
                    """, arguments: [size, type, now, source, hash])
            for s in backupServers {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO blob_mirrors (hash, server, updated_at) VALUES (?, ?, ?)", arguments: [hash, s, now])
            }
        }
    }

    /// A fetch failed: retried at `retryAt`, or given up when nil.
    /// `countsAsAttempt` false for a fetch that was not tried (the disk budget was reached).
    public func blobFailed(
        _ hash: String, reason: String, retryAt: Int64?, sourceFailures: [String: String] = [:], countsAsAttempt: Bool = true, now: Int64
    ) async throws {
        try await writer.write("record blob failure") { db in
            if let retryAt {
                try db.execute(
                    sql: "UPDATE blobs SET failure = ?, attempts = attempts + ?, next_attempt = ? WHERE hash = ? AND state = 'pending'",
                    arguments: [reason, countsAsAttempt ? 1 : 0, retryAt, hash])
            } else {
                try db.execute(
                    sql: "UPDATE blobs SET state = 'failed', failure = ?, attempts = attempts + 1 WHERE hash = ? AND state = 'pending'",
                    arguments: [reason, hash])
            }
            for (url, why) in sourceFailures {
                try db.execute(sql: "UPDATE blob_sources SET failure = ? WHERE hash = ? AND url = ?", arguments: [why, hash, url])
            }
        }
    }

    /// Makes sure every kept blob is scheduled on each of `servers` (a server added to the
    /// configuration gets the blobs kept before it).
    public func scheduleMirrors(on servers: [String], now: Int64) async throws {
        try await writer.write("schedule mirrors") { db in
            for s in servers {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO blob_mirrors (hash, server, updated_at) SELECT hash, ?, ? FROM blobs WHERE state = 'kept'",
                    arguments: [s, now])
            }
        }
    }

    /// Kept blobs due on a backup server.
    public func dueMirrors(servers: [String], now: Int64, limit: Int) throws -> [DueMirror] {
        guard !servers.isEmpty else { return [] }
        return try read("read due mirrors") { db in
            let marks = databaseQuestionMarks(count: servers.count)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.hash, m.server, b.size, b.type, m.attempts, b.source FROM blob_mirrors m JOIN blobs b ON b.hash = m.hash
                    WHERE m.state = 'pending' AND m.next_attempt <= ? AND b.state = 'kept' AND m.server IN (\(marks))
                    ORDER BY m.next_attempt, m.hash LIMIT ?
                    """, arguments: StatementArguments([now] + servers + [limit] as [any DatabaseValueConvertible]))
            return rows.map { DueMirror(hash: $0[0], server: $0[1], size: $0[2], type: $0[3], attempts: $0[4], source: $0[5]) }
        }
    }

    /// Records how mirroring one blob to one server went.
    public func mirrorOutcome(_ hash: String, server: String, state: BlobMirrorState, reason: String?, retryAt: Int64?, now: Int64) async throws {
        try await writer.write("record mirror outcome") { db in
            try db.execute(
                sql: """
                    UPDATE blob_mirrors SET state = ?, failure = ?, attempts = attempts + 1, next_attempt = coalesce(?, next_attempt), updated_at = ?
                    WHERE hash = ? AND server = ?
                    """, arguments: [state.rawValue, reason, retryAt, now, hash, server])
        }
    }

    /// Kept blobs in hash order after `hash` (restore, audit).
    public func keptBlobs(after hash: String, limit: Int) throws -> [(hash: String, size: Int64, type: String?)] {
        try read("read kept blobs") { db in
            try Row.fetchAll(
                db, sql: "SELECT hash, size, type FROM blobs WHERE state = 'kept' AND hash > ? ORDER BY hash LIMIT ?", arguments: [hash, limit]
            ).map { (hash: $0[0], size: $0[1], type: $0[2]) }
        }
    }

    /// A kept blob found missing or damaged in the store: fetched again.
    public func blobLost(_ hash: String, reason: String, now: Int64) async throws {
        try await writer.write("record lost blob") { db in
            try db.execute(
                sql: "UPDATE blobs SET state = 'pending', failure = ?, next_attempt = ?, kept_at = NULL WHERE hash = ?", arguments: [reason, now, hash])
        }
    }

    public func mediaCounts() throws -> MediaCounts {
        try read("count media") { db in
            var c = MediaCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*), coalesce(sum(size), 0) FROM blobs GROUP BY state") {
                let n: Int = row[1]
                switch BlobState(rawValue: row[0]) {
                case .kept: c.kept = n; c.keptBytes = row[2]
                case .pending: c.pending = n
                case .failed: c.failed = n
                case nil: break
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT failure, count(*) FROM blobs WHERE state = 'failed' GROUP BY failure") {
                c.failedByReason[row[0] ?? "unknown"] = row[1]
            }
            for row in try Row.fetchAll(db, sql: "SELECT failure, count(*) FROM blobs WHERE state = 'pending' AND failure IS NOT NULL GROUP BY failure") {
                c.waitingByReason[row[0] ?? "unknown"] = row[1]
            }
            for row in try Row.fetchAll(db, sql: "SELECT server, state, count(*) FROM blob_mirrors GROUP BY server, state") {
                c.mirrors[row[0], default: [:]][row[1]] = row[2]
            }
            for row in try Row.fetchAll(db, sql: "SELECT failure, count(*) FROM blob_mirrors WHERE state = 'failed' GROUP BY failure") {
                c.mirrorFailuresByReason[row[0] ?? "unknown"] = row[1]
            }
            c.references = try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_refs") ?? 0
            return c
        }
    }
}
