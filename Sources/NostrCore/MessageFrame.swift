/// Walks the elements of a `["TYPE", ...]` frame for the message decoders.
struct MessageFrame: ~Copyable {
    var scanner: JSONScanner
    private var first = true

    init(_ buf: UnsafeBufferPointer<UInt8>) {
        scanner = JSONScanner(buf)
    }

    /// The message types a relay sends, matched in the frame's bytes without making a `String`.
    private static let typeNames: [StaticString] = ["EVENT", "OK", "EOSE", "CLOSED", "NOTICE", "AUTH", "COUNT", "NEG-MSG", "NEG-ERR"]
    private static let types = ["EVENT", "OK", "EOSE", "CLOSED", "NOTICE", "AUTH", "COUNT", "NEG-MSG", "NEG-ERR"]

    mutating func begin() throws(MessageDecodingError) -> String {
        guard scanner.consume(UInt8(ascii: "[")) else {
            if scanner.peek() == nil { throw .notJSON(scanner.fail("empty message")) }
            throw .notAnArray
        }
        do {
            guard scanner.peek() == UInt8(ascii: "\"") else { throw MessageDecodingError.notAnArray }
            if let known = scanner.matchString(Self.typeNames) { return Self.types[known] }
            return try scanner.parseString()
        } catch let e as JSONError { throw .notJSON(e) } catch { throw .notAnArray }
    }

    var atEnd: Bool {
        mutating get { scanner.peek() == UInt8(ascii: "]") }
    }

    private mutating func next(_ what: String) throws(MessageDecodingError) {
        guard !atEnd else { throw .missingElement(what) }
        guard scanner.consume(UInt8(ascii: ",")) else { throw .notJSON(scanner.fail("expected ','")) }
    }

    mutating func string(_ what: String) throws(MessageDecodingError) -> String {
        try next(what)
        guard scanner.peek() == UInt8(ascii: "\"") else { throw .badElement(what, "must be a string") }
        do { return try scanner.parseString() } catch { throw .notJSON(error) }
    }

    mutating func bool(_ what: String) throws(MessageDecodingError) -> Bool {
        try next(what)
        do {
            guard case let .bool(b) = try scanner.parseValue() else { throw MessageDecodingError.badElement(what, "must be true or false") }
            return b
        } catch let e as JSONError { throw .notJSON(e) } catch let e as MessageDecodingError { throw e } catch { throw .badElement(what, "unreadable") }
    }

    mutating func value(_ what: String) throws(MessageDecodingError) -> JSONValue {
        try next(what)
        do { return try scanner.parseValue() } catch { throw .notJSON(error) }
    }

    mutating func event() throws(MessageDecodingError) -> Event {
        try next("event")
        do { return try EventParser.parse(&scanner) } catch { throw .invalidEvent(subscription: nil, error) }
    }

    mutating func filter() throws(MessageDecodingError) -> Filter {
        let v = try value("filter")
        do { return try Filter(json: v) } catch { throw .badElement("filter", error.description) }
    }

    mutating func filters() throws(MessageDecodingError) -> [Filter] {
        var out: [Filter] = []
        while !atEnd { out.append(try filter()) }
        return out
    }

    mutating func end() throws(MessageDecodingError) {
        guard scanner.consume(UInt8(ascii: "]")) else { throw .trailingElements }
        do { try scanner.expectEnd() } catch { throw .notJSON(error) }
    }
}
