/// NIP-01's serialization rules, written by hand: Foundation's encoders escape
/// `/` and differ on control characters, and any difference changes the id.
public enum CanonicalJSON {
    /// Appends `s` as a JSON string: `\"` `\\` `\n` `\r` `\t` `\b` `\f`, other
    /// bytes below 0x20 as `\u00xx`, everything else (including `/` and
    /// non-ASCII UTF-8) verbatim.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { buf in
            var runStart = 0
            var i = JSONScanner.nextSpecial(in: buf, from: 0)
            while i < buf.count {
                let b = buf[i]
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
                runStart = i + 1
                defer { i = JSONScanner.nextSpecial(in: buf, from: i + 1) }
                switch b {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, Hex.digits[Int(b >> 4)], Hex.digits[Int(b & 0x0F)]])
                }
            }
            if runStart < buf.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<buf.count])) }
        }
        out.append(0x22)
    }

    public static func appendTags(_ tags: [[String]], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, tag) in tags.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            for (j, item) in tag.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                appendString(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// `[0,pubkey,created_at,kind,tags,content]`: the bytes whose SHA-256 is the event id.
    public static func idPreimage(pubkey: String, createdAt: Int64, kind: Int, tags: [[String]], content: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + content.utf8.count + tags.count * 80)
        out.append(contentsOf: "[0,\"".utf8)
        out.append(contentsOf: pubkey.utf8)
        out.append(contentsOf: "\",".utf8)
        out.append(contentsOf: String(createdAt).utf8)
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: String(kind).utf8)
        out.append(UInt8(ascii: ","))
        appendTags(tags, to: &out)
        out.append(UInt8(ascii: ","))
        appendString(content, to: &out)
        out.append(UInt8(ascii: "]"))
        return out
    }
}
