import GRDB

/// The writer's transaction and savepoint statements, kept prepared. GRDB's `inTransaction` and
/// `inSavepoint` prepare theirs anew each time (an SQL parse per statement), and a live note's
/// transaction runs up to eight of them: the parses cost more than the note's own inserts.
/// Behaves as GRDB's: a failed commit rolls back, and a rollback is skipped when SQLite
/// already rolled the transaction back itself.
enum PreparedTransaction {
    static func begin(_ db: Database) throws {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
    }

    static func commit(_ db: Database) throws {
        do {
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
        } catch {
            rollback(db)
            throw error
        }
    }

    static func rollback(_ db: Database) {
        guard db.isInsideTransaction else { return }
        // A failed rollback leaves SQLite's own (it rolls back on the errors that stop one).
        try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute()
    }

    /// Runs `body` in a savepoint of the open transaction; a throw undoes only `body`'s writes.
    /// Refuses to run once the transaction is gone (SQLite rolled it back after a failure):
    /// outside one, a savepoint would start and commit a transaction of its own.
    static func inSavepoint(_ db: Database, _ body: () throws -> Void) throws {
        guard db.isInsideTransaction else { throw TransactionEnded() }
        try db.cachedStatement(sql: "SAVEPOINT job").execute()
        do {
            try body()
        } catch {
            try? db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT job").execute()
            try? db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
            throw error
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
    }

    struct TransactionEnded: Error, CustomStringConvertible {
        var description: String { "the group transaction was rolled back before this write ran" }
    }
}
