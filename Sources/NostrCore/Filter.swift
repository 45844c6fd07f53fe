/// A NIP-01 subscription filter. Tag conditions are keyed by the single
/// letter without `#`. A present but empty list matches nothing.
public struct Filter: Sendable, Hashable, CustomStringConvertible {
    public var ids: [String]?
    public var authors: [String]?
    public var kinds: [Int]?
    public var tags: [String: [String]]
    public var since: Int64?
    public var until: Int64?
    public var limit: Int?

    public init(
        ids: [String]? = nil, authors: [String]? = nil, kinds: [Int]? = nil, tags: [String: [String]] = [:], since: Int64? = nil, until: Int64? = nil,
        limit: Int? = nil
    ) {
        self.ids = ids
        self.authors = authors
        self.kinds = kinds
        self.tags = tags
        self.since = since
        self.until = until
        self.limit = limit
    }

    /// Local matching exactly as NIP-01 defines it; `limit` plays no part.
    public func matches(_ event: Event) -> Bool {
        // One-off checks; code matching many events keeps a FilterMatcher instead.
        FilterMatcher([self]).matches(event)
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = []
        if let ids { fields.append(("ids", .array(ids.map { .string($0) }))) }
        if let authors { fields.append(("authors", .array(authors.map { .string($0) }))) }
        if let kinds { fields.append(("kinds", .array(kinds.map { .int(Int64($0)) }))) }
        for (name, values) in tags.sorted(by: { $0.key < $1.key }) {
            fields.append(("#\(name)", .array(values.map { .string($0) })))
        }
        if let since { fields.append(("since", .int(since))) }
        if let until { fields.append(("until", .int(until))) }
        if let limit { fields.append(("limit", .int(Int64(limit)))) }
        return .object(fields)
    }

    public var description: String { json.serialized }

    public init(json: JSONValue) throws(FilterError) {
        guard case let .object(fields) = json else { throw FilterError(key: nil, reason: "a filter must be a JSON object") }
        self.init()
        for (key, value) in fields {
            switch key {
            case "ids": ids = try Self.strings(key, value)
            case "authors": authors = try Self.strings(key, value)
            case "kinds":
                guard case let .array(items) = value else { throw FilterError(key: key, reason: "must be an array of integers") }
                kinds = try items.map { (item: JSONValue) throws(FilterError) -> Int in
                    guard case let .int(k) = item, Event.kindRange.contains(Int(k)) else {
                        throw FilterError(key: key, reason: "must be an array of integers 0...65535")
                    }
                    return Int(k)
                }
            case "since": since = try Self.integer(key, value)
            case "until": until = try Self.integer(key, value)
            case "limit": limit = Int(try Self.integer(key, value))
            default:
                if key.hasPrefix("#"), key.count == 2 {
                    tags[String(key.dropFirst())] = try Self.strings(key, value)
                }
            // Other keys (search, future NIPs) are ignored, as relays do.
            }
        }
    }

    public init(json text: String) throws(FilterError) {
        do { try self.init(json: try JSONValue.parse(text)) } catch let e as FilterError { throw e } catch {
            throw FilterError(key: nil, reason: "\(error)")
        }
    }

    private static func strings(_ key: String, _ value: JSONValue) throws(FilterError) -> [String] {
        guard case let .array(items) = value else { throw FilterError(key: key, reason: "must be an array of strings") }
        return try items.map { (item: JSONValue) throws(FilterError) -> String in
            guard case let .string(s) = item else { throw FilterError(key: key, reason: "must be an array of strings") }
            return s
        }
    }

    private static func integer(_ key: String, _ value: JSONValue) throws(FilterError) -> Int64 {
        guard case let .int(i) = value, i >= 0 else { throw FilterError(key: key, reason: "must be a non-negative integer") }
        return i
    }
}
