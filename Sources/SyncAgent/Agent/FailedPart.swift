import NostrCore

/// What a one-shot run failed at: a relay, or discovery as a whole (no configured relay answered
/// the relay-list query, so the run could not learn where the authors publish). In the summary's
/// JSON it is the key of `failures`: the relay's URL, or `discover` (`FailureMap`).
public enum FailedPart: Hashable, Sendable, Comparable, CustomStringConvertible {
    case relay(RelayURL)
    case discovery

    public var description: String {
        switch self {
        case let .relay(url): url.normalized
        case .discovery: "discover"
        }
    }

    public static func < (a: FailedPart, b: FailedPart) -> Bool { a.description < b.description }

    /// The key in the summary's JSON: the URL, or `discover`; nil for anything else.
    init?(key: String) {
        if key == "discover" {
            self = .discovery
        } else if let url = RelayURL(key) {
            self = .relay(url)
        } else {
            return nil
        }
    }
}

extension FailedPart {
    /// The summary's failures: each relay's, and discovery's when it failed as a whole.
    static func failures(relays: [RelayURL: String], discovery: String?) -> FailureMap {
        var out = FailureMap()
        for (url, why) in relays { out[.relay(url)] = why }
        if let discovery { out[.discovery] = discovery }
        return out
    }
}

/// What failed → why. In JSON an object keyed by URL (and `discover`), encoded as a string-keyed
/// map: a map keyed by an enum would go through the reports' snake_case key conversion, which
/// rewrites any capital letter in a URL.
public struct FailureMap: Sendable, Equatable, Codable {
    private var parts: [FailedPart: String] = [:]

    public init() {}

    public subscript(part: FailedPart) -> String? {
        get { parts[part] }
        set { parts[part] = newValue }
    }

    public var isEmpty: Bool { parts.isEmpty }

    /// Sorted by URL, `discover` among them.
    public var sorted: [(part: FailedPart, why: String)] { parts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        for (key, why) in try container.decode([String: String].self) {
            guard let part = FailedPart(key: key) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(key): neither a relay URL nor discover")
            }
            parts[part] = why
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: parts.map { ($0.key.description, $0.value) }))
    }
}
