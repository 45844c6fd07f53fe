/// What the agent does with a relay.
public enum RelayRole: String, Sendable, Codable, CaseIterable {
    /// Read from: backfilled and followed live.
    case primary
    /// Written to: receives every event it does not already have.
    case backup
    /// Read from and written to: kept in two-way sync with the others.
    case both

    public var isReadable: Bool { self != .backup }
    public var isWritable: Bool { self != .primary }
}
