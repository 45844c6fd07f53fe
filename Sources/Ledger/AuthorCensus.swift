import GRDB
import GRDBSQLite
import NostrCore
import Synchronization

/// The distinct authors of a SQLite ledger's events, up to `limit` of them, or that there are more.
/// A reconciliation window reads the (created_at, id) index alone, without looking up each row's
/// author in the table, when the census shows that every author is in the scope.
///
/// Built once per ledger file and process by one pass over the events table under the write lock,
/// so no event is recorded while it is read, and kept up by `Ledger.record`, which adds each
/// inserted event's author before its transaction commits: a reader's snapshot never holds an
/// author the census lacks. An author whose insert was rolled back stays counted, which only makes
/// the census answer "no" more often. Shared by every `Ledger` of the process on one file (a
/// reloaded agent's and the last); another process cannot record events meanwhile, as an agent
/// holds the ledger's `LedgerLock`.
struct AuthorCensus: Sendable {
    /// Past this many authors (an inbox's gift wraps are each signed by a one-time key) the census
    /// only remembers that there are more.
    static let limit = 4_096

    private(set) var authors: Set<Bytes32> = []
    private(set) var overflowed = false

    mutating func add(_ author: Bytes32?) {
        guard !overflowed else { return }
        // A pubkey that is not 32 bytes of hex can match no scope's author: counted as more.
        guard let author else { return overflow() }
        authors.insert(author)
        if authors.count > Self.limit { overflow() }
    }

    private mutating func overflow() {
        authors = []
        overflowed = true
    }

    /// Whether every author counted is one of `scope`.
    func isWithin(_ scope: Set<Bytes32>) -> Bool { !overflowed && authors.isSubset(of: scope) }

    /// Censuses by ledger path, for this process.
    static let byPath = Mutex<[String: AuthorCensus]>([:])

    /// Every author of the events table, read in one pass through SQLite's C API.
    static func read(_ db: Database) throws -> AuthorCensus {
        let statement = try db.cachedStatement(sql: "SELECT pubkey FROM events")
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle) }
        var census = AuthorCensus()
        while !census.overflowed {
            let code = sqlite3_step(handle)
            guard code == SQLITE_ROW else {
                if code == SQLITE_DONE { break }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
            census.add(Ledger.bytes32(handle, column: 0))
        }
        return census
    }
}

extension Ledger {
    /// This ledger file's census, built under the write lock on first use.
    func authorCensus() throws -> AuthorCensus {
        if let census = AuthorCensus.byPath.withLock({ $0[path] }) { return census }
        return try write("count authors") { db in
            if let census = AuthorCensus.byPath.withLock({ $0[path] }) { return census }
            let census = try AuthorCensus.read(db)
            AuthorCensus.byPath.withLock { $0[path] = census }
            return census
        }
    }

    /// Counts an inserted event's author, inside the transaction that inserts it.
    func countAuthor(_ pubkey: String) {
        let key = Bytes32(hex: pubkey)
        AuthorCensus.byPath.withLock { censuses in
            guard censuses[path]?.overflowed == false else { return }
            censuses[path]?.add(key)
        }
    }

    /// Whether every event `db`'s read transaction sees is by one of `authors`, by the census
    /// (`authorCensus()` builds it before the read). The snapshot is taken first: an event
    /// recorded after the census was looked at would be seen unchecked, while one the snapshot
    /// holds had its author counted before it committed (the census only grows).
    func holdsOnly(_ db: Database, authors: Set<Bytes32>) throws -> Bool {
        _ = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events")
        // Checked under the lock: a copy held outside it would make the next author counted copy
        // the whole set.
        return AuthorCensus.byPath.withLock { $0[path]?.isWithin(authors) } ?? false
    }
}
