/// A cursor over a peer's message. Every read checks the remaining length
/// first, so truncated or lying input becomes an error, never a trap.
internal struct MessageReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// Timestamps arrive as deltas from the previous bound in the same message.
    private var lastTimestamp: UInt64 = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func readByte(_ what: String) throws(NegentropyError) -> UInt8 {
        guard offset < bytes.count else {
            throw .malformed("\(what) is missing", at: offset)
        }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readVarint(_ what: String) throws(NegentropyError) -> UInt64 {
        try Varint.decode(bytes, at: &offset, what: what)
    }

    mutating func readBound() throws(NegentropyError) -> Bound {
        let timestamp = try readTimestamp()
        let lengthOffset = offset
        let length = try readVarint("bound id prefix length")
        guard length <= 32 else {
            throw .malformed("bound id prefix length \(length) is over 32", at: lengthOffset)
        }
        let id = try readIDPrefix(length: Int(length))
        return Bound(timestamp: timestamp, id: id, idLength: Int(length))
    }

    /// 0 means infinity; otherwise 1 + the offset from the previous timestamp.
    /// Sums past the top saturate to infinity, as the reference does.
    private mutating func readTimestamp() throws(NegentropyError) -> UInt64 {
        let encoded = try readVarint("bound timestamp")
        let timestamp: UInt64
        if encoded == 0 {
            timestamp = .max
        } else {
            let (sum, overflow) = (encoded - 1).addingReportingOverflow(lastTimestamp)
            timestamp = overflow ? .max : sum
        }
        lastTimestamp = timestamp
        return timestamp
    }

    private mutating func readIDPrefix(length: Int) throws(NegentropyError) -> NegentropyID {
        guard remaining >= length else {
            throw .malformed("bound id prefix of \(length) bytes is cut off", at: offset)
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for index in 0..<32 {
            let value = index < length ? UInt64(bytes[offset + index]) : 0
            switch index >> 3 {
            case 0: words.0 = words.0 << 8 | value
            case 1: words.1 = words.1 << 8 | value
            case 2: words.2 = words.2 << 8 | value
            default: words.3 = words.3 << 8 | value
            }
        }
        offset += length
        return NegentropyID(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    mutating func readID() throws(NegentropyError) -> NegentropyID {
        guard remaining >= 32 else {
            throw .malformed("id is cut off", at: offset)
        }
        let id = bytes.withUnsafeBytes { NegentropyID(unchecked: $0, at: offset) }
        offset += 32
        return id
    }

    mutating func readFingerprint() throws(NegentropyError) -> Fingerprint {
        guard remaining >= Fingerprint.size else {
            throw .malformed("fingerprint is cut off", at: offset)
        }
        let fingerprint = bytes.withUnsafeBytes { Fingerprint(raw: $0, at: offset) }
        offset += Fingerprint.size
        return fingerprint
    }

    /// Reads an id list's count and checks that the ids are really there before
    /// anyone sizes a buffer or a set by it.
    mutating func readIDCount() throws(NegentropyError) -> Int {
        let countOffset = offset
        let count = try readVarint("id list count")
        guard count <= UInt64(remaining / 32) else {
            throw .malformed("id list claims \(count) ids but only \(remaining) bytes follow", at: countOffset)
        }
        return Int(count)
    }

    mutating func skipIDs(_ count: Int) {
        offset += count * 32
    }
}
