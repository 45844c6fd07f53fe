import NostrCore

/// A blob's name in Blossom: the SHA-256 of its bytes, 64 lowercase hex characters.
public struct BlobHash: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hex: String

    /// Accepts 64 hex characters in either case; stores lowercase.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 64, text.utf8.allSatisfy({ BlobHash.isHexDigit($0) }) else { return nil }
        hex = text.lowercased()
    }

    public var description: String { hex }
    /// The store's sub-folder: the first two hex characters.
    public var shard: String { String(hex.prefix(2)) }

    public static func < (a: BlobHash, b: BlobHash) -> Bool { a.hex < b.hex }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}
