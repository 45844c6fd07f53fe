/// Lowercase hexadecimal, as Nostr writes ids, keys and signatures.
public enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

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

    static func decode(_ buf: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard buf.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: buf.count / 2)
        for i in 0..<out.count {
            guard let hi = nibble(buf[2 * i]), let lo = nibble(buf[2 * i + 1]) else { return nil }
            out[i] = hi << 4 | lo
        }
        return out
    }

    /// True when `text` is exactly `count` lowercase hex characters.
    public static func isLowercase(_ text: String, count: Int) -> Bool {
        guard text.utf8.count == count else { return false }
        return text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
