import NostrCore

/// A relay's NIP-11 document (the parts a client acts on).
public struct RelayInformation: Sendable, Codable, Equatable {
    public struct Limitation: Sendable, Codable, Equatable {
        public var maxLimit: Int?
        public var maxSubscriptions: Int?
        public var maxMessageLength: Int?
        public var maxEventTags: Int?
        public var maxContentLength: Int?
        public var authRequired: Bool?
        public var restrictedWrites: Bool?
        public var paymentRequired: Bool?
        public var minPowDifficulty: Int?

        public init() {}
    }

    public var name: String?
    public var description: String?
    public var pubkey: String?
    public var contact: String?
    public var software: String?
    public var version: String?
    public var supportedNIPs: [Int]
    public var limitation: Limitation
    /// Kinds the relay says it keeps for no time at all (`retention` entries
    /// with `time` or `count` 0): it will not store them.
    public var refusedKinds: [ClosedRange<Int>] = []

    public init(name: String? = nil, software: String? = nil, version: String? = nil, supportedNIPs: [Int] = [], limitation: Limitation = .init()) {
        self.name = name
        self.software = software
        self.version = version
        self.supportedNIPs = supportedNIPs
        self.limitation = limitation
    }

    /// Reads the document leniently: relays disagree on types (numbers as strings, etc.).
    public init(json text: String) throws(RelayInformationError) {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw RelayInformationError(kind: .notJSON(error)) }
        guard case .object = root else { throw RelayInformationError(kind: .notAnObject) }
        self.init()
        name = root["name"]?.lenientString
        description = root["description"]?.lenientString
        pubkey = root["pubkey"]?.lenientString
        contact = root["contact"]?.lenientString
        software = root["software"]?.lenientString
        version = root["version"]?.lenientString
        if case let .array(items)? = root["supported_nips"] {
            supportedNIPs = items.compactMap(\.lenientInt)
        }
        if let l = root["limitation"], case .object = l {
            limitation.maxLimit = l["max_limit"]?.lenientInt
            limitation.maxSubscriptions = l["max_subscriptions"]?.lenientInt
            limitation.maxMessageLength = l["max_message_length"]?.lenientInt
            limitation.maxEventTags = l["max_event_tags"]?.lenientInt
            limitation.maxContentLength = l["max_content_length"]?.lenientInt
            limitation.authRequired = l["auth_required"]?.lenientBool
            limitation.restrictedWrites = l["restricted_writes"]?.lenientBool
            limitation.paymentRequired = l["payment_required"]?.lenientBool
            limitation.minPowDifficulty = l["min_pow_difficulty"]?.lenientInt
        }
        if case let .array(specs)? = root["retention"] {
            refusedKinds = specs.flatMap(Self.refusedKinds(in:))
        }
    }

    /// Whether the relay's retention policy refuses `kind`.
    public func refuses(kind: Int) -> Bool {
        refusedKinds.contains { $0.contains(kind) }
    }

    private static func refusedKinds(in spec: JSONValue) -> [ClosedRange<Int>] {
        guard case .object = spec, spec["time"]?.lenientInt == 0 || spec["count"]?.lenientInt == 0 else { return [] }
        guard case let .array(kinds)? = spec["kinds"] else { return [0...Int(UInt16.max)] }
        return kinds.compactMap { k -> ClosedRange<Int>? in
            if let single = k.lenientInt { return single...single }
            if case let .array(pair) = k, pair.count == 2, let a = pair[0].lenientInt, let b = pair[1].lenientInt, a <= b { return a...b }
            return nil
        }
    }
}

public struct RelayInformationError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case notJSON(any Error)
        case notAnObject
    }

    public var url: String?
    let kind: Kind

    public var reason: String {
        switch kind {
        case let .notJSON(error): "not JSON: \(error)"
        case .notAnObject: "not a JSON object"
        }
    }

    public var description: String { "NIP-11 document\(url.map { " of \($0)" } ?? ""): \(reason)" }
}

extension JSONValue {
    var lenientString: String? {
        switch self {
        case let .string(s): s
        case let .int(i): String(i)
        default: nil
        }
    }

    var lenientInt: Int? {
        switch self {
        case let .int(i): Int(clamping: i)
        case let .double(d) where d.isFinite && abs(d) < 1e15: Int(d)
        case let .string(s): Int(s)
        default: nil
        }
    }

    var lenientBool: Bool? {
        switch self {
        case let .bool(b): b
        case let .int(i): i != 0
        case let .string(s): s == "true" ? true : (s == "false" ? false : nil)
        default: nil
        }
    }
}
