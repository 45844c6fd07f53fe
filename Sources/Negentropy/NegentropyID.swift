/// A 32-byte record identifier (for Nostr: the event id).
///
/// Held as four big-endian words rather than a byte array so that hundreds of
/// thousands of ids cost 32 bytes each with no heap allocation, and so that
/// comparing words in order is the same as comparing the bytes lexically.
public struct NegentropyID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bytes 0..<8, 8..<16, 16..<24, 24..<32, each read big-endian.
    internal var w0: UInt64
    internal var w1: UInt64
    internal var w2: UInt64
    internal var w3: UInt64

    /// The four big-endian words of the 32 bytes, first to last.
    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    internal static let zero = NegentropyID(w0: 0, w1: 0, w2: 0, w3: 0)

    /// The four big-endian words, first to last: how a caller with its own 32-byte type converts
    /// without going through hex.
    public var words: (UInt64, UInt64, UInt64, UInt64) { (w0, w1, w2, w3) }

    /// Exactly 64 hex digits, either case; anything else gives nil.
    public init?(hex: String) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        for unit in hex.utf8 {
            guard count < 64, let nibble = NegentropyHex.nibble(unit) else { return nil }
            let value = UInt64(nibble)
            switch count >> 4 {
            case 0: words.0 = words.0 << 4 | value
            case 1: words.1 = words.1 << 4 | value
            case 2: words.2 = words.2 << 4 | value
            default: words.3 = words.3 << 4 | value
            }
            count += 1
        }
        guard count == 64 else { return nil }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Exactly 32 bytes; anything else gives nil.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for byte in bytes {
            let value = UInt64(byte)
            switch index >> 3 {
            case 0: words.0 = words.0 << 8 | value
            case 1: words.1 = words.1 << 8 | value
            case 2: words.2 = words.2 << 8 | value
            default: words.3 = words.3 << 8 | value
            }
            index += 1
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Reads 32 bytes at `offset`; the caller has checked that they are there.
    internal init(unchecked buffer: UnsafeRawBufferPointer, at offset: Int) {
        self.init(
            w0: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            w1: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
            w2: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)),
            w3: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        )
    }

    /// Lowercase hex, 64 characters.
    public var hex: String {
        NegentropyHex.encode(bytes)
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        append(to: &out, count: 32)
        return out
    }

    public var description: String { hex }

    internal func word(_ index: Int) -> UInt64 {
        switch index {
        case 0: return w0
        case 1: return w1
        case 2: return w2
        default: return w3
        }
    }

    /// Byte `index` (0..<32) in wire order.
    internal func byte(_ index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: word(index >> 3) >> UInt64((7 - (index & 7)) * 8))
    }

    /// Appends the first `count` bytes (0...32) in wire order, without building
    /// an intermediate array: bound prefixes and id lists are written this way.
    internal func append(to out: inout [UInt8], count: Int) {
        var index = 0
        while index < count {
            out.append(byte(index))
            index += 1
        }
    }

    /// The number of leading bytes two ids share (32 when equal).
    internal func sharedPrefixLength(with other: NegentropyID) -> Int {
        for index in 0..<4 {
            let diff = word(index) ^ other.word(index)
            if diff != 0 {
                return index * 8 + diff.leadingZeroBitCount / 8
            }
        }
        return 32
    }

    /// Keeps the first `count` bytes and zeroes the rest, which is how a bound's
    /// id prefix is compared against full ids.
    internal func truncated(to count: Int) -> NegentropyID {
        func mask(_ wordIndex: Int) -> UInt64 {
            let keep = count - wordIndex * 8
            if keep >= 8 { return ~0 }
            if keep <= 0 { return 0 }
            return ~0 << UInt64((8 - keep) * 8)
        }
        return NegentropyID(w0: w0 & mask(0), w1: w1 & mask(1), w2: w2 & mask(2), w3: w3 & mask(3))
    }

    public static func < (lhs: NegentropyID, rhs: NegentropyID) -> Bool {
        if lhs.w0 != rhs.w0 { return lhs.w0 < rhs.w0 }
        if lhs.w1 != rhs.w1 { return lhs.w1 < rhs.w1 }
        if lhs.w2 != rhs.w2 { return lhs.w2 < rhs.w2 }
        return lhs.w3 < rhs.w3
    }
}
