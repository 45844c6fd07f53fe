import Crypto

/// SHA-256 (swift-crypto), for ids and for whatever else names things by digest.
public enum SHA256Digest {
    public static func of(_ bytes: [UInt8]) -> [UInt8] {
        SHA256.hash(data: bytes).withUnsafeBytes { [UInt8]($0) }
    }
}
