/// NIP-19 bech32 entities. Keys and ids are lowercase hex except `nsec`,
/// which carries raw bytes so it never passes through a printable form.
public enum NIP19: Sendable, Equatable {
    case npub(String)
    case nsec([UInt8])
    case note(String)
    case nprofile(pubkey: String, relays: [String])
    case nevent(id: String, relays: [String], author: String?, kind: Int?)
    case naddr(identifier: String, pubkey: String, kind: Int, relays: [String])

    public static func decode(_ text: String) throws(NIP19Error) -> NIP19 {
        let (hrp, data) = try Bech32.decode(text.trimmingWhitespace())
        switch hrp {
        case "npub": return .npub(Hex.encode(try exact32(data)))
        case "nsec": return .nsec(try exact32(data))
        case "note": return .note(Hex.encode(try exact32(data)))
        case "nprofile":
            let tlv = try TLV.parse(data)
            guard let key = tlv.first(0) else { throw .badTLV("nprofile without a pubkey") }
            return .nprofile(pubkey: Hex.encode(try exact32(key)), relays: tlv.strings(1))
        case "nevent":
            let tlv = try TLV.parse(data)
            guard let id = tlv.first(0) else { throw .badTLV("nevent without an id") }
            var author: String?
            if let a = tlv.first(2) { author = Hex.encode(try exact32(a)) }
            return .nevent(id: Hex.encode(try exact32(id)), relays: tlv.strings(1), author: author, kind: try tlv.kind())
        case "naddr":
            let tlv = try TLV.parse(data)
            guard let d = tlv.first(0) else { throw .badTLV("naddr without an identifier") }
            guard let author = tlv.first(2) else { throw .badTLV("naddr without an author") }
            guard let kind = try tlv.kind() else { throw .badTLV("naddr without a kind") }
            return .naddr(identifier: String(decoding: d, as: UTF8.self), pubkey: Hex.encode(try exact32(author)), kind: kind, relays: tlv.strings(1))
        default:
            throw .unknownPrefix(hrp)
        }
    }

    public static func encode(_ entity: NIP19) -> String {
        switch entity {
        case let .npub(hex): Bech32.encode(hrp: "npub", data: Hex.decode(hex) ?? [])
        case let .nsec(bytes): Bech32.encode(hrp: "nsec", data: bytes)
        case let .note(hex): Bech32.encode(hrp: "note", data: Hex.decode(hex) ?? [])
        case let .nprofile(pubkey, relays):
            Bech32.encode(hrp: "nprofile", data: TLV.encode([(0, Hex.decode(pubkey) ?? [])] + relays.map { (1, Array($0.utf8)) }))
        case let .nevent(id, relays, author, kind):
            nevent(id: id, relays: relays, author: author, kind: kind)
        case let .naddr(identifier, pubkey, kind, relays):
            Bech32.encode(
                hrp: "naddr",
                data: TLV.encode(
                    [(0, Array(identifier.utf8))] + relays.map { (1, Array($0.utf8)) }
                        + [(2, Hex.decode(pubkey) ?? []), (3, TLV.bigEndian32(kind))]))
        }
    }

    private static func nevent(id: String, relays: [String], author: String?, kind: Int?) -> String {
        var records: [(UInt8, [UInt8])] = [(0, Hex.decode(id) ?? [])]
        records += relays.map { (UInt8(1), Array($0.utf8)) }
        if let author { records.append((2, Hex.decode(author) ?? [])) }
        if let kind { records.append((3, TLV.bigEndian32(kind))) }
        return Bech32.encode(hrp: "nevent", data: TLV.encode(records))
    }

    /// A pubkey given as `npub1…`, `nprofile1…` or 64 hex characters, as lowercase hex.
    public static func pubkeyHex(_ text: String) throws(NIP19Error) -> String {
        let t = text.trimmingWhitespace()
        // Hex digits alone are meant as hex (every NIP-19 entity starts with a prefix such as
        // "npub1", which has letters outside hex): a wrong length is said as such, not as bech32.
        if !t.isEmpty, t.utf8.allSatisfy({ Hex.nibble($0) != nil }) {
            guard t.utf8.count == 64, let raw = Hex.decode(t) else { throw .badHexLength(t.utf8.count) }
            return Hex.encode(raw)
        }
        switch try decode(t) {
        case let .npub(hex), let .nprofile(hex, _): return hex
        default: throw .unknownPrefix(String(t.prefix(while: { $0 != "1" })))
        }
    }

    private static func exact32(_ data: [UInt8]) throws(NIP19Error) -> [UInt8] {
        guard data.count == 32 else { throw .badLength(expected: 32, got: data.count) }
        return data
    }
}

/// NIP-19's type-length-value records.
struct TLV {
    var records: [(UInt8, [UInt8])]

    static func parse(_ data: [UInt8]) throws(NIP19Error) -> TLV {
        var records: [(UInt8, [UInt8])] = []
        var i = 0
        while i < data.count {
            guard i + 2 <= data.count else { throw .badTLV("truncated record header") }
            let t = data[i], l = Int(data[i + 1])
            guard i + 2 + l <= data.count else { throw .badTLV("record of type \(t) runs past the end") }
            records.append((t, Array(data[(i + 2)..<(i + 2 + l)])))
            i += 2 + l
        }
        return TLV(records: records)
    }

    static func encode(_ records: [(UInt8, [UInt8])]) -> [UInt8] {
        records.flatMap { [$0.0, UInt8(min($0.1.count, 255))] + $0.1.prefix(255) }
    }

    static func bigEndian32(_ v: Int) -> [UInt8] {
        let u = UInt32(truncatingIfNeeded: v)
        return [UInt8(u >> 24), UInt8(u >> 16 & 0xff), UInt8(u >> 8 & 0xff), UInt8(u & 0xff)]
    }

    func first(_ type: UInt8) -> [UInt8]? { records.first { $0.0 == type }?.1 }

    func strings(_ type: UInt8) -> [String] {
        records.filter { $0.0 == type }.map { String(decoding: $0.1, as: UTF8.self) }
    }

    func kind() throws(NIP19Error) -> Int? {
        guard let k = first(3) else { return nil }
        guard k.count == 4 else { throw .badTLV("kind must be 4 bytes") }
        return Int(UInt32(k[0]) << 24 | UInt32(k[1]) << 16 | UInt32(k[2]) << 8 | UInt32(k[3]))
    }
}
