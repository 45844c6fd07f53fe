import Foundation
import GRDB
import NostrCore
import Synchronization

/// The agent's memory: every event seen, where each relay stands with it,
/// backfill cursors, run history and the archive position. One SQLite file
/// in WAL mode; readers never block the single writer. Each public method
/// is one transaction that keeps the invariants below.
///
/// - An event received from relay X is `present` on X and never scheduled for X.
/// - A delivered (or duplicate) event is never due again, across restarts.
/// - Only the newest version of a replaceable/addressable event is pushed.
public final class Ledger: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Where the agent's frequent writes go (group commit, off Swift's shared threads).
    public let writer: LedgerWriter

    /// The scope indexes this process keeps current (key → id), set by `registerScopeIndexes`.
    let activeScopeIndexes = Mutex<[String: Int64]>([:])
    /// NIP-62 requests on record, by author, so recording an event costs no query to learn that
    /// none applies.
    let vanishes = Mutex<[String: [(relay: String, createdAt: Int64, id: String)]]>([:])
    /// Told what each committed record transaction made due (the daemon's delivery loops).
    /// In a box: a closure read back through `withLock`'s inout gained a reabstraction thunk per read.
    let freshListener = Mutex<FreshDeliveries.Listener?>(nil)

    /// Removed when this ledger is released: set for `temporary()` ledgers only.
    private let temporaryDirectory: URL?

    public convenience init(path: String) throws {
        try self.init(path: path, temporaryDirectory: nil)
    }

    private init(path: String, temporaryDirectory: URL?) throws {
        self.path = path
        self.temporaryDirectory = temporaryDirectory
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                // WAL with NORMAL: a crash may lose the last commits of a power cut, never corrupt;
                // the agent re-fetches or re-sends what a lost commit held.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Readers scan forward (due deliveries, the archive, status) and gain little from a
                // page cache; SQLite's default 2 MB each made memory grow with history.
                if db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -256") }
            }
            configuration.busyMode = .timeout(10)
            let pool = try Self.openAndMigrate(path: path, configuration: configuration)
            self.pool = pool
            writer = LedgerWriter(pool: pool, path: path)
            let known = try loadVanishRequests()
            vanishes.withLock { $0 = known }
        } catch {
            throw LedgerError(path: path, operation: "open", underlying: error)
        }
    }

    /// Opens the pool and migrates, again while the file is busy, for at most 10 s. SQLite does
    /// not wait on its busy handler where waiting could deadlock (switching a new file to WAL,
    /// upgrading a read to a write): processes opening one new ledger together get "database is
    /// locked" at once, and the first to finish will have made the next attempt cheap.
    private static func openAndMigrate(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = ContinuousClock.now + .seconds(10)
        var pause = 0.005
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrate(pool)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                guard ContinuousClock.now + .seconds(pause) < deadline else { throw error }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.2)
            }
        }
    }

    /// Applies the migrations not yet applied. Processes opening a new ledger together (an agent
    /// and `status`, say) may race: one finds a migration done under it and fails; it then reads
    /// what is applied again and goes on from there, a few times at most.
    private static func migrate(_ pool: DatabasePool) throws {
        let migrator = LedgerSchema.migrator
        for attempt in 1... {
            do {
                try migrator.migrate(pool)
                return
            } catch {
                if try pool.read({ try migrator.hasCompletedMigrations($0) }) { return }
                if attempt >= 5 { throw error }
            }
        }
    }

    /// A ledger in a fresh temporary file (WAL needs a file), removed with its directory when the
    /// ledger is released.
    public static func temporary() throws -> Ledger {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-ledger-\(UUID().uuidString)")
        return try Ledger(path: dir.appendingPathComponent("ledger.sqlite").path, temporaryDirectory: dir)
    }

    deinit {
        // The files go while SQLite still holds them open; the pool closes right after, on unlinked files.
        if let temporaryDirectory {
            try? FileManager.default.removeItem(at: temporaryDirectory)
            // No other ledger opens a temporary file: what is known of its census goes with it.
            AuthorCensus.committed.withLock { _ = $0.removeValue(forKey: path) }
        }
    }

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let e as LedgerError { throw e } catch {
            throw LedgerError(path: path, operation: operation, underlying: error)
        }
    }

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch {
            throw LedgerError(path: path, operation: operation, underlying: error)
        }
    }

    /// Takes the write lock and lets it go, changing nothing: whether the ledger can be written
    /// now (the disk, the file's permissions, a stuck writer within the busy timeout).
    public func probeWritable() throws {
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "ROLLBACK")
            }
        } catch {
            throw LedgerError(path: path, operation: "probe writability", underlying: error)
        }
    }

    /// Bytes on disk, including the write-ahead log.
    public var fileSize: Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { sum, p in
            sum + ((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int64) ?? 0)
        }
    }

    public func eventCount() throws -> Int {
        try read("count events") { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }

    /// The seq of the event with this id and `created_at`, if recorded.
    public func seq(ofEventID id: String, createdAt: Int64) throws -> Int64? {
        try read("look up event") { try Int64.fetchOne($0.cachedStatement(sql: Self.findSeqSQL), arguments: [createdAt, id]) }
    }

    /// SQLite's plan for `sql`, one step per line (tests check that per-batch queries use their index).
    func queryPlan(_ sql: String) throws -> String {
        try read("explain") { db in
            let parameters = StatementArguments(Array(repeating: nil as String?, count: sql.filter { $0 == "?" }.count))
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: parameters).map { row -> String in row["detail"] }.joined(separator: "\n")
        }
    }

    /// Relay → state for one event (tests and diagnostics).
    public func presence(of event: Event) throws -> [RelayURL: DeliveryState] {
        try read("read presence") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.relay, d.state FROM deliveries d JOIN events e ON e.seq = d.seq WHERE e.created_at = ? AND e.id = ?
                    """, arguments: [event.createdAt, event.id])
            var out: [RelayURL: DeliveryState] = [:]
            for row in rows {
                guard let relay = RelayURL(row[0] as String) else { continue }
                out[relay] = DeliveryState(rawValue: row[1] as String)
            }
            return out
        }
    }
}
