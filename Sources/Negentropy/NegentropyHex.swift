/// Hex helpers, because NIP-77 carries every negentropy message as a hex string.
public enum NegentropyHex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lowercase hex.
    public static func encode(_ bytes: [UInt8]) -> String {
        var utf8 = [UInt8]()
        utf8.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            utf8.append(digits[Int(byte >> 4)])
            utf8.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Accepts either case; rejects odd lengths and non-hex characters.
    public static func decode(_ hex: String) throws(NegentropyError) -> [UInt8] {
        let utf8 = hex.utf8
        guard utf8.count % 2 == 0 else {
            throw NegentropyError(.invalidHex(reason: "odd number of hex digits (\(utf8.count))", offset: utf8.count))
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8 = 0
        var offset = 0
        for unit in utf8 {
            guard let nibble = nibble(unit) else {
                throw NegentropyError(.invalidHex(reason: "not a hex digit", offset: offset))
            }
            if offset & 1 == 0 {
                high = nibble
            } else {
                out.append(high << 4 | nibble)
            }
            offset += 1
        }
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
