/// Why a wire frame could not be read.
public enum MessageDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSON(JSONError)
    case notAnArray
    case unknownType(String)
    case missingElement(String)
    case badElement(String, String)
    case trailingElements
    /// The frame was well formed but the event inside it was not.
    case invalidEvent(subscription: String?, EventParseError)

    public var description: String {
        switch self {
        case let .notJSON(e): "not JSON: \(e)"
        case .notAnArray: "a message must be a JSON array starting with its type"
        case let .unknownType(t): "unknown message type \"\(t.prefix(32))\""
        case let .missingElement(what): "missing \(what)"
        case let .badElement(what, why): "\(what): \(why)"
        case .trailingElements: "unexpected extra elements"
        case let .invalidEvent(_, e): "invalid event: \(e)"
        }
    }
}
