/// What a one-shot run failed at: a relay, or discovery as a whole (no configured relay answered
/// the relay-list query, so the run could not learn where the authors publish). In the summary's
/// JSON it is the key of `failures`: the relay's URL, or `discover`.
public enum FailedPart: Hashable, Sendable, Comparable, Codable, CodingKeyRepresentable, CustomStringConvertible {
    case relay(String)
    case discovery

    public var description: String {
        switch self {
        case let .relay(url): url
        case .discovery: "discover"
        }
    }

    public var codingKey: any CodingKey { Key(stringValue: description) }

    public init?<T: CodingKey>(codingKey: T) {
        self = codingKey.stringValue == "discover" ? .discovery : .relay(codingKey.stringValue)
    }

    public static func < (a: FailedPart, b: FailedPart) -> Bool { a.description < b.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = text == "discover" ? .discovery : .relay(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension FailedPart {
    /// The summary's failures: each relay's, and discovery's when it failed as a whole.
    static func failures(relays: [String: String], discovery: String?) -> [FailedPart: String] {
        var out = Dictionary(uniqueKeysWithValues: relays.map { (FailedPart.relay($0.key), $0.value) })
        if let discovery { out[.discovery] = discovery }
        return out
    }
}
