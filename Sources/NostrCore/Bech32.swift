/// Bech32 (BIP-173) as NIP-19 uses it, without the 90-character limit
/// because TLV entities are longer.
public enum Bech32 {
    static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()
    static let maxLength = 5000

    static func polymod(_ values: [UInt8]) -> UInt32 {
        let gen: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> i) & 1 == 1 { chk ^= gen[i] }
        }
        return chk
    }

    static func expandHRP(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    public static func encode(hrp: String, data: [UInt8]) -> String {
        let words = convertBits(data, from: 8, to: 5, pad: true)!
        let h = Array(hrp.utf8)
        let poly = polymod(expandHRP(h) + words + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((poly >> (5 * (5 - $0))) & 31) }
        return hrp + "1" + String(decoding: (words + checksum).map { charset[Int($0)] }, as: UTF8.self)
    }

    public static func decode(_ text: String) throws(NIP19Error) -> (hrp: String, data: [UInt8]) {
        guard text.utf8.count <= maxLength else { throw .tooLong }
        let lower = text.lowercased()
        guard lower == text || text.uppercased() == text else { throw .mixedCase }
        let bytes = Array(lower.utf8)
        guard let sep = bytes.lastIndex(of: UInt8(ascii: "1")), sep >= 1, bytes.count - sep - 1 >= 6 else { throw .missingSeparator }
        let hrp = Array(bytes[..<sep])
        guard hrp.allSatisfy({ (33...126).contains($0) }) else { throw .invalidCharacter }
        var words: [UInt8] = []
        for c in bytes[(sep + 1)...] {
            guard c < 128, reverse[Int(c)] >= 0 else { throw .invalidCharacter }
            words.append(UInt8(reverse[Int(c)]))
        }
        guard polymod(expandHRP(hrp) + words) == 1 else { throw .badChecksum }
        guard let data = convertBits(Array(words.dropLast(6)), from: 5, to: 8, pad: false) else { throw .invalidPadding }
        return (String(decoding: hrp, as: UTF8.self), data)
    }

    static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out: [UInt8] = []
        let maxv = (1 << to) - 1
        for v in data {
            guard Int(v) >> from == 0 else { return nil }
            acc = (acc << from) | Int(v)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
            return nil
        }
        return out
    }
}
