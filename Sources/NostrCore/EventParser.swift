/// Reads an event object straight from the scanner, without an intermediate
/// dictionary, and validates every field's shape.
enum EventParser {
    /// An event's keys, matched in the frame's bytes (`JSONScanner.matchString`), and the same as
    /// `String`s, which cost nothing to hand out: each is short enough to be kept inline.
    private static let keyNames: [StaticString] = ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]
    private static let keys = ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]

    static func parse(_ s: inout JSONScanner) throws(EventParseError) -> Event {
        func wrap<T>(_ field: String?, _ body: (inout JSONScanner) throws(JSONError) -> T) throws(EventParseError) -> T {
            do { return try body(&s) } catch { throw EventParseError(field: field, reason: error.description) }
        }
        s.skipWhitespace()
        let start = s.index
        try wrap(nil) { (s: inout JSONScanner) throws(JSONError) in
            guard s.peek() == UInt8(ascii: "{") else { throw s.fail("an event must be a JSON object") }
            s.index += 1
        }
        var id: String?, pubkey: String?, sig: String?, content: String?
        var createdAt: Int64?, kind: Int64?
        var tags: [[String]]?
        if try !wrap(nil, { (s: inout JSONScanner) throws(JSONError) in s.consume(UInt8(ascii: "}")) }) {
            repeat {
                let key = try wrap(nil) { (s: inout JSONScanner) throws(JSONError) -> String in
                    let k: String
                    if let known = s.matchString(keyNames) { k = keys[known] } else { k = try s.parseString() }
                    try s.expect(UInt8(ascii: ":"))
                    return k
                }
                switch key {
                case "id":
                    try once(id, key)
                    id = try hexField(&s, key, 64)
                case "pubkey":
                    try once(pubkey, key)
                    pubkey = try hexField(&s, key, 64)
                case "sig":
                    try once(sig, key)
                    sig = try hexField(&s, key, 128)
                case "content":
                    try once(content, key)
                    content = try wrap(key) { (s: inout JSONScanner) throws(JSONError) -> String in
                        guard s.peek() == UInt8(ascii: "\"") else { throw s.fail("must be a string") }
                        return try s.parseString()
                    }
                case "created_at":
                    try once(createdAt, key)
                    createdAt = try intField(&s, key, max: Int64(Int32.max) * 4)
                case "kind":
                    try once(kind, key)
                    kind = try intField(&s, key, max: Int64(Event.kindRange.upperBound))
                case "tags":
                    try once(tags, key)
                    tags = try wrap(key) { (s: inout JSONScanner) throws(JSONError) -> [[String]] in try parseTags(&s) }
                default:
                    _ = try wrap(key) { (s: inout JSONScanner) throws(JSONError) in try s.skipValue() }
                }
            } while try !wrap(nil, { (s: inout JSONScanner) throws(JSONError) in try s.separatorOrEnd(UInt8(ascii: "}")) })
        }
        guard let id else { throw EventParseError(field: "id", reason: "missing") }
        guard let pubkey else { throw EventParseError(field: "pubkey", reason: "missing") }
        guard let createdAt else { throw EventParseError(field: "created_at", reason: "missing") }
        guard let kind else { throw EventParseError(field: "kind", reason: "missing") }
        guard let tags else { throw EventParseError(field: "tags", reason: "missing") }
        guard let content else { throw EventParseError(field: "content", reason: "missing") }
        guard let sig else { throw EventParseError(field: "sig", reason: "missing") }
        return Event(id: id, pubkey: pubkey, createdAt: createdAt, kind: Int(kind), tags: tags, content: content, sig: sig, rawJSON: s.text(start..<s.index))
    }

    private static func once<T>(_ existing: T?, _ key: String) throws(EventParseError) {
        if existing != nil { throw EventParseError(field: key, reason: "appears twice") }
    }

    private static func hexField(_ s: inout JSONScanner, _ key: String, _ count: Int) throws(EventParseError) -> String {
        let value: String
        do {
            guard s.peek() == UInt8(ascii: "\"") else { throw s.fail("") }
            value = try s.parseString()
        } catch {
            throw EventParseError(field: key, reason: "must be a string of \(count) lowercase hex characters")
        }
        guard Hex.isLowercase(value, count: count) else {
            throw EventParseError(
                field: key,
                reason: "must be \(count) lowercase hex characters, got \(value.utf8.count) characters \"\(value.prefix(16))\(value.count > 16 ? "…" : "")\"")
        }
        return value
    }

    private static func intField(_ s: inout JSONScanner, _ key: String, max: Int64) throws(EventParseError) -> Int64 {
        let value: JSONValue
        do { value = try s.parseValue() } catch { throw EventParseError(field: key, reason: error.description) }
        guard case let .int(i) = value else { throw EventParseError(field: key, reason: "must be an integer") }
        guard (0...max).contains(i) else { throw EventParseError(field: key, reason: "\(i) is out of range 0...\(max)") }
        return i
    }

    static func parseTags(_ s: inout JSONScanner) throws(JSONError) -> [[String]] {
        guard s.consume(UInt8(ascii: "[")) else { throw s.fail("must be an array of arrays of strings") }
        var tags: [[String]] = []
        if s.consume(UInt8(ascii: "]")) { return tags }
        repeat {
            guard s.consume(UInt8(ascii: "[")) else { throw s.fail("each tag must be an array of strings") }
            var tag: [String] = []
            if !s.consume(UInt8(ascii: "]")) {
                repeat {
                    guard s.peek() == UInt8(ascii: "\"") else { throw s.fail("tag items must be strings") }
                    tag.append(try s.parseString())
                } while try !s.separatorOrEnd(UInt8(ascii: "]"))
            }
            tags.append(tag)
        } while try !s.separatorOrEnd(UInt8(ascii: "]"))
        return tags
    }
}
