/// An event id as 32 bytes instead of a 64-character string, for sets that grow with every event
/// a restore reads: about a quarter of the memory per id.
struct EventIDKey: Hashable, Sendable {
    private let a, b, c, d: UInt64

    /// Nil for anything but 64 hex digits (a verified event's id always is).
    init?(_ hex: String) {
        var words: [UInt64] = []
        words.reserveCapacity(4)
        var word: UInt64 = 0
        var digits = 0
        for byte in hex.utf8 {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            word = word << 4 | UInt64(nibble)
            digits += 1
            if digits % 16 == 0 {
                words.append(word)
                word = 0
            }
            if digits > 64 { return nil }
        }
        guard digits == 64 else { return nil }
        (a, b, c, d) = (words[0], words[1], words[2], words[3])
    }
}
