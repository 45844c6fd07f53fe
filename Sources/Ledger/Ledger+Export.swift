import GRDB

/// One column's value as read from the SQLite ledger, for copying it elsewhere (`ledger copy`).
public enum LedgerValue: Sendable, Equatable, Codable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

extension Ledger {
    /// The tables whose rows `exportRows` may read: the ones the PostgreSQL ledger holds.
    public static let exportableTables: Set<String> = [
        "events", "replaceable_heads", "deliveries", "cursors", "relays", "runs", "scope_problems", "deleted_events", "reconciliations",
        "archive_state", "author_metadata", "discovery_checks", "relay_health", "vanish_requests",
    ]

    /// Up to `limit` rows of `table` after `after` in the order of `key` (its primary key), each
    /// as `columns`. Keyset paging, so a batch costs the same at the end of a large table as at
    /// the start, and a copy resumes from the last key it wrote.
    public func exportRows(table: String, columns: [String], key: [String], after: [LedgerValue]?, limit: Int) throws -> [[LedgerValue]] {
        precondition(Self.exportableTables.contains(table) && !key.isEmpty)
        let order = key.joined(separator: ", ")
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM \(table)"
        var arguments = StatementArguments()
        if let after {
            sql += " WHERE (\(order)) > (\(Array(repeating: "?", count: after.count).joined(separator: ", ")))"
            for value in after { arguments += [value.databaseValue] }
        }
        sql += " ORDER BY \(order) LIMIT \(max(1, limit))"
        return try read("export \(table)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                (0..<columns.count).map { LedgerValue(row[$0] as DatabaseValue) }
            }
        }
    }

    /// How many rows `table` holds.
    public func rowCount(table: String) throws -> Int {
        precondition(Self.exportableTables.contains(table))
        return try read("count \(table)") { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}

extension LedgerValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case let .int64(i): self = .integer(i)
        case let .double(d): self = .real(d)
        case let .string(s): self = .text(s)
        case let .blob(b): self = .text(String(decoding: b, as: UTF8.self))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case let .integer(i): i.databaseValue
        case let .real(d): d.databaseValue
        case let .text(s): s.databaseValue
        }
    }
}
