/// Why a bech32 entity could not be read.
public enum NIP19Error: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLong, mixedCase, missingSeparator, invalidCharacter, badChecksum, invalidPadding
    case unknownPrefix(String)
    case badLength(expected: Int, got: Int)
    case badTLV(String)
    /// Hex digits only, but not the 64 of a 32-byte key.
    case badHexLength(Int)

    public var description: String {
        switch self {
        case .tooLong: "bech32 string too long"
        case .mixedCase: "bech32 string mixes upper and lower case"
        case .missingSeparator: "bech32 string has no separator or too short a checksum"
        case .invalidCharacter: "bech32 string has a character outside the bech32 alphabet"
        case .badChecksum: "bech32 checksum does not match"
        case .invalidPadding: "bech32 data has invalid padding"
        case let .unknownPrefix(p): "unknown NIP-19 prefix \"\(p)\""
        case let .badLength(e, g): "expected \(e) bytes of data, got \(g)"
        case let .badTLV(why): "malformed TLV: \(why)"
        case let .badHexLength(n): "\(n) hex characters, 64 expected"
        }
    }
}
