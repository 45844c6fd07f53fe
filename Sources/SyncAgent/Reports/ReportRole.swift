/// A relay's role as the reports (`status`, `relays`, `audit`) show it: a configured role, or
/// where an unconfigured relay came from. The raw values are the reports' JSON, unchanged.
public enum ReportRole: String, Sendable, Codable, CustomStringConvertible {
    case primary
    case backup
    case both
    /// Asked for relay lists only (`discover.indexers`).
    case indexer
    /// Found through an author's relay list and read from.
    case discovered = "primary (discovered)"
    /// In the ledger from an earlier configuration.
    case notConfigured = "not configured"

    public init(_ role: RelayRole) {
        switch role {
        case .primary: self = .primary
        case .backup: self = .backup
        case .both: self = .both
        }
    }

    /// Events are delivered to it.
    public var isWritable: Bool { self == .backup || self == .both }

    public var description: String { rawValue }
}
