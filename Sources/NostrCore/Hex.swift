/// Lowercase hexadecimal, as Nostr writes ids, keys and signatures.
public enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Each byte's value as a hex digit of either case, 0xFF when it is none: a lookup where
    /// `nibble`'s branches on each digit's range mispredict on random hex (ids decoded from the
    /// ledger by the tens of thousands per reconciliation window: 12 % of a 1 % re-sync's CPU).
    static let nibbles: [UInt8] = (0..<256).map { c in nibble(UInt8(c)) ?? 0xFF }

    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of any case; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    /// Nibble values by byte; 0xFF for anything that is not a hex digit.
    /// 0 for `0-9a-f`, 1 otherwise.
    private static let lowercaseTable: [UInt8] = (0..<256).map { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) ? 0 : 1 }
    private static let table: [UInt8] = (0..<256).map { nibble(UInt8($0)) ?? 0xFF }

    static func decode(_ buf: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard buf.count % 2 == 0 else { return nil }
        var bad: UInt8 = 0
        let out = table.withUnsafeBufferPointer { t in
            [UInt8](unsafeUninitializedCapacity: buf.count / 2) { dst, n in
                for i in 0..<buf.count / 2 {
                    let hi = t[Int(buf[2 * i])], lo = t[Int(buf[2 * i + 1])]
                    bad |= hi | lo
                    dst[i] = hi << 4 | (lo & 0x0F)
                }
                n = buf.count / 2
            }
        }
        return bad & 0xF0 == 0 ? out : nil
    }

    /// True when `text` is exactly `count` lowercase hex characters.
    public static func isLowercase(_ text: String, count: Int) -> Bool {
        var text = text
        return text.withUTF8 { isLowercase($0, count: count) }
    }

    static func isLowercase(_ buf: UnsafeBufferPointer<UInt8>, count: Int) -> Bool {
        guard buf.count == count else { return false }
        return lowercaseTable.withUnsafeBufferPointer { t in
            var bad: UInt8 = 0
            for b in buf { bad |= t[Int(b)] }
            return bad == 0
        }
    }
}
