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
    /// Events were recorded that the census did not count (by a build from before v8): it knows
    /// only that there may be more until it is counted again.
    private(set) var behind = false
    /// How many events the census counted: the ledger's events, as it never deletes one.
    var events = 0

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

    /// Whether the census counted every event recorded.
    private static let currentSQL = "counted_through = \(sequenceSQL)"

    /// The census `db`'s transaction sees, stepped through SQLite's C API.
    static func read(_ db: Database) throws -> AuthorCensus {
        var census = AuthorCensus()
        let row = try Row.fetchOne(db, sql: "SELECT overflowed, \(currentSQL), events FROM event_author_census")
        guard let row, row[0] == false, row[1] == true else {
            census.behind = row?[0] == false
            census.overflow()
            return census
        }
        census.events = row[2]
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
        try Bool.fetchOne(db, sql: "SELECT overflowed OR \(currentSQL) FROM event_author_census") ?? false
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
        try db.execute(sql: "UPDATE event_author_census SET counted_through = \(sequenceSQL), events = (SELECT COUNT(*) FROM events)")
    }

    /// What a committed transaction showed of a ledger file's census, by path, for this process:
    /// `Ledger.record` writes no row for an author known to be counted, and nothing at all once
    /// the census overflowed. Committed rows are never removed (past the limit they go, but then
    /// the flag stays for good), so this is never wrong, only incomplete: an author missing from
    /// it costs one `INSERT OR IGNORE`. It holds at most the limit and one recording's authors.
    enum Committed: Sendable, Equatable {
        case counted(Set<String>)
        case overflowed
    }

    static let committed = Mutex<[String: Committed]>([:])

    /// The SQL of one author's row.
    static let insertSQL = "INSERT OR IGNORE INTO event_authors (pubkey) VALUES (?)"

    /// Past the limit the rows go and only the flag stays. Returns whether the census overflowed.
    @discardableResult
    static func overflowIfFull(_ db: Database) throws -> Bool {
        guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event_authors") ?? 0 > limit else { return false }
        try db.execute(sql: "DELETE FROM event_authors")
        try db.execute(sql: "UPDATE event_author_census SET overflowed = 1")
        return true
    }
}

extension Ledger {
    /// Counts the authors of the events a recording inserted (as seqs `inserted`), inside its
    /// transaction. Those the process knows are counted cost a set lookup; the others a row,
    /// remembered once committed. The census stays current only if it was before the recording.
    func countAuthors(_ db: Database, _ authors: Set<String>, inserted: ClosedRange<Int64>) throws {
        try db.cachedStatement(sql: "UPDATE event_author_census SET counted_through = ?, events = events + ? WHERE counted_through = ?")
            .execute(arguments: [inserted.upperBound, inserted.count, inserted.lowerBound - 1])
        let new: Set<String>
        switch AuthorCensus.committed.withLock({ $0[path] }) {
        case .overflowed: return
        case let .counted(known): new = authors.subtracting(known)
        case nil: new = authors
        }
        guard !new.isEmpty else { return }
        let remember: AuthorCensus.Committed
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT overflowed FROM event_author_census")) ?? false {
            remember = .overflowed
        } else {
            let insert = try DirectStatement(db, sql: AuthorCensus.insertSQL)
            var added = false
            for author in new {
                try insert.run(db) { $0.add(author) }
                added = added || db.changesCount == 1
            }
            remember = try added && AuthorCensus.overflowIfFull(db) ? .overflowed : .counted(new)
        }
        // A rolled-back transaction (or savepoint: this runs last in the recording's) wrote none.
        db.afterNextTransaction { [path] _ in
            AuthorCensus.committed.withLock { committed in
                switch (committed[path], remember) {
                case (.overflowed, _), (_, .overflowed): committed[path] = .overflowed
                case let (.counted(known), .counted(new)): committed[path] = .counted(known.union(new))
                case (nil, _): committed[path] = remember
                }
            }
        }
    }

    /// Counts the authors again, unless another writer already did, after a build that does not
    /// keep the census recorded events.
    func recountAuthors() throws {
        try write("count authors") { db in
            if try !AuthorCensus.isCurrent(db) { try AuthorCensus.recount(db) }
        }
    }
}
