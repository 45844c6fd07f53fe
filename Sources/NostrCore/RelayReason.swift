/// The text of an `OK` or `CLOSED` message, split into its machine-readable
/// prefix (NIP-01) and the human part.
public struct RelayReason: Sendable, Equatable, CustomStringConvertible {
    public enum Prefix: String, Sendable, Equatable, CaseIterable {
        case duplicate, pow, blocked, invalid, error, restricted
        case rateLimited = "rate-limited"
        case authRequired = "auth-required"
        case mute
    }

    /// The prefix as a known value, or nil when absent or unknown.
    public let prefix: Prefix?
    /// The raw prefix text before the colon, even when unknown (for reports).
    public let prefixText: String?
    public let message: String
    public let raw: String

    public init(_ raw: String) {
        self.raw = raw
        if let colon = raw.firstIndex(of: ":"),
            raw[..<colon].allSatisfy({ $0.isLetter && $0.isLowercase || $0 == "-" }),
            !raw[..<colon].isEmpty
        {
            let p = String(raw[..<colon])
            prefixText = p
            prefix = Prefix(rawValue: p)
            message = String(raw[raw.index(after: colon)...]).trimmingWhitespace()
        } else {
            prefixText = nil
            prefix = nil
            message = raw
        }
    }

    public var description: String { raw }
}
