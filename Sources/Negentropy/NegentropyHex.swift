/// Hex helpers, because NIP-77 carries every negentropy message as a hex string.
public enum NegentropyHex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Each byte's value as a digit (0-15), 0xFF for what is not one: both cases.
    private static let nibbles: [UInt8] = (0..<256).map { nibble(UInt8($0)) ?? 0xFF }

    /// Lowercase hex. Written straight into the string's storage: a reconciliation sends
    /// megabytes of it.
    public static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        return digits.withUnsafeBufferPointer { digits in
            bytes.withUnsafeBufferPointer { bytes in
                String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                    var o = 0
                    for byte in bytes {
                        out[o] = digits[Int(byte >> 4)]
                        out[o + 1] = digits[Int(byte & 0x0F)]
                        o += 2
                    }
                    return o
                }
            }
        }
    }

    /// Accepts either case; rejects odd lengths and non-hex characters.
    public static func decode(_ hex: String) throws(NegentropyError) -> [UInt8] {
        var hex = hex
        let count = hex.utf8.count
        guard count % 2 == 0 else {
            throw NegentropyError(.invalidHex(reason: "odd number of hex digits (\(count))", offset: count))
        }
        // The offset of the first character that is not a digit, or nil.
        var bad: Int?
        let out = hex.withUTF8 { utf8 in
            nibbles.withUnsafeBufferPointer { table in
                [UInt8](unsafeUninitializedCapacity: count / 2) { out, written in
                    var i = 0
                    while i < count {
                        let high = table[Int(utf8[i])]
                        let low = table[Int(utf8[i + 1])]
                        if (high | low) & 0xF0 != 0 {
                            bad = high & 0xF0 != 0 ? i : i + 1
                            break
                        }
                        out[i / 2] = high << 4 | low
                        i += 2
                    }
                    written = i / 2
                }
            }
        }
        if let bad { throw NegentropyError(.invalidHex(reason: "not a hex digit", offset: bad)) }
        return out
    }

    internal static func nibble(_ unit: UInt8) -> UInt8? {
        switch unit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return unit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return unit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return unit &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}
