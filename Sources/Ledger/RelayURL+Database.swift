import GRDB
import NostrCore

// Relays are stored as their normalized text, as they were when the API took strings: ledgers
// written before read the same.
extension RelayURL: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { normalized.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> RelayURL? {
        String.fromDatabaseValue(dbValue).flatMap(RelayURL.init)
    }
}
