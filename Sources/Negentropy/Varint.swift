/// The protocol's varint: base-128 digits, most significant first, high bit set
/// on every byte but the last (unlike LEB128, which is least significant first).
internal enum Varint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        let bits = max(1, 64 - value.leadingZeroBitCount)
        var digit = (bits + 6) / 7 - 1
        while digit > 0 {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(digit * 7)) & 0x7F | 0x80)
            digit -= 1
        }
        out.append(UInt8(truncatingIfNeeded: value) & 0x7F)
    }

    static func encode(_ value: UInt64) -> [UInt8] {
        var out = [UInt8]()
        append(value, to: &out)
        return out
    }

    /// Leading zero digits are accepted, as the reference decoder does; a run of
    /// them costs one step per input byte, so the work stays bounded by the
    /// message. Values that need more than 64 bits are rejected instead of
    /// silently losing their high digits.
    static func decode(_ bytes: [UInt8], at offset: inout Int, what: String) throws(NegentropyError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        while true {
            guard offset < bytes.count else {
                throw .malformed("\(what) varint is cut off", at: start)
            }
            let byte = bytes[offset]
            offset += 1
            guard value >> 57 == 0 else {
                throw .malformed("\(what) varint does not fit in 64 bits", at: start)
            }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return value }
        }
    }
}
