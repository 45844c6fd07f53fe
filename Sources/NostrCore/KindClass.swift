/// How relays store a kind (NIP-01).
public enum KindClass: String, Sendable, Equatable {
    /// Stored as is.
    case regular
    /// Only the newest per (pubkey, kind) is kept: 0, 3, 10000-19999.
    case replaceable
    /// Not stored: 20000-29999.
    case ephemeral
    /// Only the newest per (pubkey, kind, `d` tag) is kept: 30000-39999.
    case addressable

    public init(kind: Int) {
        switch kind {
        case 0, 3, 10000..<20000: self = .replaceable
        case 20000..<30000: self = .ephemeral
        case 30000..<40000: self = .addressable
        default: self = .regular
        }
    }
}
