import Crypto

/// The running sum of ids that a fingerprint hashes: ids read as 256-bit
/// little-endian numbers, added mod 2^256. Addition (unlike XOR) makes
/// duplicates and cancelling pairs visible, and lets sums be subtracted.
internal struct IDSum: Sendable, Equatable {
    /// Little-endian limbs: l0 holds id bytes 0..<8 read little-endian.
    var l0: UInt64 = 0
    var l1: UInt64 = 0
    var l2: UInt64 = 0
    var l3: UInt64 = 0

    static let zero = IDSum()

    mutating func add(_ id: NegentropyID) {
        // The id words are big-endian, so swapping bytes gives the
        // little-endian reading of the same eight bytes.
        add(IDSum(l0: id.w0.byteSwapped, l1: id.w1.byteSwapped, l2: id.w2.byteSwapped, l3: id.w3.byteSwapped))
    }

    mutating func add(_ other: IDSum) {
        let (s0, c0) = l0.addingReportingOverflow(other.l0)
        let (t1, c1a) = l1.addingReportingOverflow(other.l1)
        let (s1, c1b) = t1.addingReportingOverflow(c0 ? 1 : 0)
        let (t2, c2a) = l2.addingReportingOverflow(other.l2)
        let (s2, c2b) = t2.addingReportingOverflow(c1a || c1b ? 1 : 0)
        let s3 = l3 &+ other.l3 &+ (c2a || c2b ? 1 : 0)
        self = IDSum(l0: s0, l1: s1, l2: s2, l3: s3)
    }

    mutating func subtract(_ other: IDSum) {
        let (s0, b0) = l0.subtractingReportingOverflow(other.l0)
        let (t1, b1a) = l1.subtractingReportingOverflow(other.l1)
        let (s1, b1b) = t1.subtractingReportingOverflow(b0 ? 1 : 0)
        let (t2, b2a) = l2.subtractingReportingOverflow(other.l2)
        let (s2, b2b) = t2.subtractingReportingOverflow(b1a || b1b ? 1 : 0)
        let s3 = l3 &- other.l3 &- (b2a || b2b ? 1 : 0)
        self = IDSum(l0: s0, l1: s1, l2: s2, l3: s3)
    }

    /// SHA-256 over the 32 little-endian sum bytes followed by varint(count),
    /// cut to 16 bytes. Hashed from a stack buffer: this runs for every range
    /// of every message.
    func fingerprint(count: Int) -> Fingerprint {
        withUnsafeTemporaryAllocation(byteCount: 48, alignment: 8) { buffer in
            buffer.storeBytes(of: l0.littleEndian, toByteOffset: 0, as: UInt64.self)
            buffer.storeBytes(of: l1.littleEndian, toByteOffset: 8, as: UInt64.self)
            buffer.storeBytes(of: l2.littleEndian, toByteOffset: 16, as: UInt64.self)
            buffer.storeBytes(of: l3.littleEndian, toByteOffset: 24, as: UInt64.self)
            var length = 32
            let value = UInt64(count)
            let bits = max(1, 64 - value.leadingZeroBitCount)
            var digit = (bits + 6) / 7 - 1
            while digit > 0 {
                buffer[length] = UInt8(truncatingIfNeeded: value >> UInt64(digit * 7)) & 0x7F | 0x80
                length += 1
                digit -= 1
            }
            buffer[length] = UInt8(truncatingIfNeeded: value) & 0x7F
            length += 1
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            let digest = hasher.finalize()
            return digest.withUnsafeBytes { Fingerprint(raw: $0, at: 0) }
        }
    }
}
