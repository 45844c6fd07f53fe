import GRDB
import GRDBSQLite
import NostrCore

/// A cached statement run through SQLite's C API. The ledger's per-event statements run tens of
/// thousands of times a minute during a backfill, and GRDB's argument arrays (an existential box
/// and a conversion per value) cost about as much as SQLite's own work for them. Every parameter
/// is bound on every run, so no value of an earlier run can leak into a later one.
struct DirectStatement {
    private let statement: Statement
    private let handle: OpaquePointer

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
    }

    /// Binds with `bind`, steps once and resets. Returns the first column of a result row as an
    /// integer, or nil when the statement produced no row.
    @discardableResult
    func run(_ db: Database, _ bind: (inout Binder) -> Void) throws -> Int64? {
        try row(db, bind) { sqlite3_column_int64($0.handle, 0) }
    }

    /// Binds with `bind`, steps once and hands the result row, if any, to `read` before resetting.
    func row<T>(_ db: Database, _ bind: (inout Binder) -> Void, _ read: (Columns) -> T) throws -> T? {
        sqlite3_reset(handle)
        var binder = Binder(handle: handle)
        bind(&binder)
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_DONE: return nil
        case SQLITE_ROW: return read(Columns(handle: handle))
        case let code: throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
        }
    }

    /// A result row's columns, by index from 0.
    struct Columns {
        let handle: OpaquePointer

        func int64(_ column: Int32) -> Int64? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
        }

        func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }

        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

        func string(_ column: Int32) -> String? {
            guard let text = sqlite3_column_text(handle, column) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
        }
    }

    /// Binds with `bind` and hands each result row to `row` as the statement's handle, for
    /// `sqlite3_column_*` (what those return is valid only during the call); resets at the end.
    /// Lets a bulk read take a column's bytes without making a `String` of them.
    func forEachRow(_ db: Database, _ bind: (inout Binder) -> Void, _ row: (OpaquePointer) throws -> Void) throws {
        sqlite3_reset(handle)
        var binder = Binder(handle: handle)
        bind(&binder)
        defer { sqlite3_reset(handle) }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_DONE: return
            case SQLITE_ROW: try row(handle)
            case let code: throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
        }
    }

    /// A text column of the current row as its UTF-8 bytes, in place (valid until the next step).
    static func text(_ handle: OpaquePointer, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        // sqlite3_column_text first, then sqlite3_column_bytes: the length is of the text form.
        guard let base = sqlite3_column_text(handle, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(handle, column)))
    }

    /// Binds parameters 1, 2, 3… in the order they are added.
    struct Binder {
        let handle: OpaquePointer
        private var index: Int32 = 0

        init(handle: OpaquePointer) { self.handle = handle }

        mutating func add(_ value: String) {
            index += 1
            var value = value
            // SQLITE_TRANSIENT: SQLite copies the text, so the Swift buffer need not outlive the call.
            let handle = handle, index = index
            value.withUTF8 { bytes in
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
                    return
                }
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
            }
        }

        mutating func add(_ value: String?) {
            guard let value else { index += 1; sqlite3_bind_null(handle, index); return }
            add(value)
        }

        mutating func add(_ value: Int64) {
            index += 1
            sqlite3_bind_int64(handle, index, value)
        }

        mutating func add(_ value: Int64?) {
            guard let value else { index += 1; sqlite3_bind_null(handle, index); return }
            add(value)
        }

        mutating func add(_ value: RelayURL) { add(value.normalized) }
        mutating func add(_ value: Int) { add(Int64(value)) }

        private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    }
}
