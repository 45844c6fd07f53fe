import NostrCore

/// An event id as 32 bytes instead of a 64-character string, for sets that grow with every event
/// a restore reads: about a quarter of the memory per id.
struct EventIDKey: Hashable, Sendable {
    private let a, b, c, d: UInt64

    /// Nil for anything but 64 hex digits (a verified event's id always is).
    init?(_ hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        func word(_ i: Int) -> UInt64 { bytes[i * 8..<i * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        (a, b, c, d) = (word(0), word(1), word(2), word(3))
    }
}
