/// A key or signing input that libsecp256k1 refuses.
public enum KeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidSecretKey
    case invalidLength(Int)
    case invalidEncoding(String)

    public var description: String {
        switch self {
        case .invalidSecretKey: "secret key is not a valid secp256k1 scalar"
        case let .invalidLength(n): "expected 32 bytes, got \(n)"
        case let .invalidEncoding(why): "unreadable key: \(why)"
        }
    }
}
