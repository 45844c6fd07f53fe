/// How a reconciliation compared a relay's set with the ledger's. The raw values are what the
/// ledger stores and what `status`, `audit` and the metrics show: they never change.
public enum ReconcileMethod: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// NIP-77 negentropy for every window.
    case nip77
    /// NIP-77 for some windows, plain REQs where the relay refused or capped it.
    case nip77AndReq = "nip77+req"
    /// NIP-45 COUNT to find the windows that differ, REQs to list them.
    case countAndReq = "count+req"
    /// REQs only: every window listed.
    case req
    /// Not compared: the backfill of the same run had just read the relay's whole set.
    case backfill

    /// A method read back from a ledger. Every value ever written is a case; anything else
    /// (a hand-edited row) reads as `req`, the method that assumes the least.
    public init(stored: String) {
        self = Self(rawValue: stored) ?? .req
    }

    public var description: String { rawValue }
}
