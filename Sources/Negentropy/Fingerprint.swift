/// The first 16 bytes of a range's hash, kept as two words in memory order so
/// comparing fingerprints is two integer compares.
internal struct Fingerprint: Sendable, Equatable {
    var first: UInt64
    var second: UInt64

    static let size = 16

    /// The caller has checked that 16 bytes are there.
    init(raw: UnsafeRawBufferPointer, at offset: Int) {
        first = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        second = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
    }

    func append(to out: inout [UInt8]) {
        withUnsafeBytes(of: first) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: second) { out.append(contentsOf: $0) }
    }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Fingerprint.size)
        append(to: &out)
        return out
    }
}
