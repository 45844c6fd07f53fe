import NostrCore

/// A part of what the agent backs up: the configured authors' own events, what was sent to them,
/// or one configured filter. Reports, metrics and the ledger name scopes by `description`.
public enum ScopeName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    case authors
    case inbox
    /// `filters[N]` of the configuration.
    case filter(Int)

    public var description: String {
        switch self {
        case .authors: "authors"
        case .inbox: "inbox"
        case let .filter(i): "filters[\(i)]"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "authors": self = .authors
        case "inbox": self = .inbox
        default:
            guard text.hasPrefix("filters["), text.hasSuffix("]"), let i = Int(text.dropFirst(8).dropLast()) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a scope: \(text)"))
            }
            self = .filter(i)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One scope on one relay.
struct RelayScope: Hashable, Sendable {
    let url: RelayURL
    let scope: ScopeName
}
