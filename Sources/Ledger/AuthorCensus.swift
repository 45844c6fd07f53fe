import GRDB
import GRDBSQLite
import NostrCore
import Synchronization

/// The distinct authors of a SQLite ledger's events, up to `limit` of them, or that there are more.
/// A reconciliation window reads the (created_at, id) index alone, without looking up each row's
/// author in the table, when the census shows that every author is in the scope.
///
/// Kept in the ledger itself (`event_authors`, `event_author_census`: migration v8), written in the
/// same transaction as the events it counts, so any snapshot's census matches that snapshot's
/// events, in every process. It only grows: a deleted event's author stays counted, which only
/// makes the census answer "no" more often. It notes the events' AUTOINCREMENT mark it counted
/// up to, so events an older build recorded (it knows nothing of the census) make it untrusted
/// until it is counted again. A run once read it from one pass over the events table, a tenth of
/// a 1 % re-sync's CPU at 100,000 events.
struct AuthorCensus: Sendable {
    /// Past this many authors (an inbox's gift wraps are each signed by a one-time key) the census
    /// only remembers that there are more. Migration v8 uses the same bound.
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

    /// The events' AUTOINCREMENT mark: the last seq ever handed out, 0 for none.
    static let sequenceSQL = "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"

    /// The census `db`'s transaction sees, stepped through SQLite's C API. One that did not count
    /// every event (a build from before v8 recorded some) knows only that there may be more.
    static func read(_ db: Database) throws -> AuthorCensus {
        var census = AuthorCensus()
        let trusted = try Bool.fetchOne(
            db, sql: "SELECT NOT overflowed AND counted_through = \(sequenceSQL) FROM event_author_census")
        guard trusted == true else {
            census.overflow()
            return census
        }
        let statement = try db.cachedStatement(sql: "SELECT pubkey FROM event_authors")
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle) }
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

    /// Whether the census counted every event recorded (or already knows there are too many).
    static func isCurrent(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT overflowed OR counted_through = \(sequenceSQL) FROM event_author_census") ?? false
    }

    /// Counts the authors of every event, adding to the rows already there (rows are only ever
    /// removed past the limit), up to the events' AUTOINCREMENT mark. Run by migration v8, and
    /// when a build that does not keep the census recorded events.
    static func recount(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO event_authors (pubkey)
                SELECT DISTINCT pubkey FROM events WHERE NOT (SELECT overflowed FROM event_author_census) LIMIT \(limit + 1)
                """)
        try overflowIfFull(db)
        try db.execute(sql: "UPDATE event_author_census SET counted_through = \(sequenceSQL)")
    }

    /// Authors known to be in a ledger file's `event_authors` by a committed transaction, by path,
    /// for this process: `Ledger.record` writes no row for them. Committed rows are never removed
    /// (past the limit they go, but then nothing is written anyway), so the set is never wrong,
    /// only incomplete, and an author missing from it costs one `INSERT OR IGNORE`.
    static let committed = Mutex<[String: Set<String>]>([:])

    /// The SQL of one author's row, unless the census already overflowed.
    static let insertSQL = """
        INSERT OR IGNORE INTO event_authors (pubkey)
        SELECT ? WHERE NOT (SELECT overflowed FROM event_author_census)
        """

    /// Past the limit the rows go and only the flag stays.
    static func overflowIfFull(_ db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event_authors") ?? 0 > limit else { return }
        try db.execute(sql: "DELETE FROM event_authors")
        try db.execute(sql: "UPDATE event_author_census SET overflowed = 1")
    }
}

extension Ledger {
    /// Counts the authors of the events a recording inserted (as seqs `inserted`), inside its
    /// transaction. Those the process knows are counted cost a set lookup; the others a row,
    /// remembered once committed. The census stays current only if it was before the recording.
    func countAuthors(_ db: Database, _ authors: Set<String>, inserted: ClosedRange<Int64>) throws {
        try db.execute(
            sql: "UPDATE event_author_census SET counted_through = ? WHERE counted_through = ?",
            arguments: [inserted.upperBound, inserted.lowerBound - 1])
        let known = AuthorCensus.committed.withLock { $0[path] ?? [] }
        let new = authors.subtracting(known)
        guard !new.isEmpty else { return }
        let insert = try DirectStatement(db, sql: AuthorCensus.insertSQL)
        var added = false
        for author in new {
            try insert.run(db) { $0.add(author) }
            added = added || db.changesCount == 1
        }
        if added { try AuthorCensus.overflowIfFull(db) }
        // A rolled-back transaction (or savepoint: this runs last in the recording's) wrote none.
        db.afterNextTransaction { [path] _ in
            AuthorCensus.committed.withLock { $0[path, default: []].formUnion(new) }
        }
    }

    /// Counts the authors again if a build that does not keep the census recorded events since.
    func recountAuthorsIfBehind() throws {
        guard try !read("read the author census", AuthorCensus.isCurrent) else { return }
        try write("count authors") { db in
            if try !AuthorCensus.isCurrent(db) { try AuthorCensus.recount(db) }
        }
    }

    /// Whether every event `db`'s transaction sees is by one of `authors`, by the census it sees.
    func holdsOnly(_ db: Database, authors: Set<Bytes32>) throws -> Bool {
        try AuthorCensus.read(db).isWithin(authors)
    }
}
