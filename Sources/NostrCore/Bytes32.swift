/// 32 bytes (an event id, a public key) held as four big-endian words: no heap allocation each,
/// so a reconciliation window of tens of thousands of ids costs 32 bytes an id, and comparing the
/// words in order compares the bytes lexically, as NIP-01 and NIP-77 sort ids.
public struct Bytes32: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let w0: UInt64
    public let w1: UInt64
    public let w2: UInt64
    public let w3: UInt64

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Exactly 64 hex digits, either case; anything else gives nil.
    public init?(hex: String) {
        var hex = hex
        guard let value = hex.withUTF8({ Bytes32(hexUTF8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = value
    }

    /// Exactly 64 hex digits as UTF-8 (a SQLite text column, a JSON string); anything else gives nil.
    public init?(hexUTF8 text: UnsafeRawBufferPointer) {
        guard text.count == 64 else { return nil }
        let words: (UInt64, UInt64, UInt64, UInt64)? = Hex.nibbles.withUnsafeBufferPointer { table in
            var bad: UInt8 = 0
            func word(_ start: Int) -> UInt64 {
                var w: UInt64 = 0
                for i in start..<start + 16 {
                    let nibble = table[Int(text[i])]
                    bad |= nibble
                    w = w << 4 | UInt64(nibble & 0x0F)
                }
                return w
            }
            let words = (word(0), word(16), word(32), word(48))
            return bad & 0xF0 == 0 ? words : nil
        }
        guard let words else { return nil }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Lowercase hex, 64 characters.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            var index = 0
            for w in [w0, w1, w2, w3] {
                for shift in stride(from: 60, through: 0, by: -4) {
                    out[index] = Hex.digits[Int((w >> UInt64(shift)) & 0x0F)]
                    index += 1
                }
            }
            return 64
        }
    }

    public var description: String { hex }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}
