/// A strict JSON reader over UTF-8 bytes. It is hand-written because event
/// parsing is on the hot path (Foundation's parser costs several times more
/// than the id check) and because callers need byte offsets to keep the exact
/// text a relay sent.
struct JSONScanner: ~Copyable {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int = 0
    /// Nesting limit so hostile input cannot exhaust the stack.
    static let maxDepth = 64
    /// Bytes that end the unescaped run of a string: `"`, `\\` and control characters.
    static let special: [UInt8] = (0..<256).map { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C ? 1 : 0 }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Moves past bytes that are not `special`.
    @inline(__always)
    mutating func skipPlain() {
        index = Self.nextSpecial(in: bytes, from: index)
    }

    /// The index of the first `special` byte at or after `start` (or the count), eight bytes at a
    /// time while none of the eight is: a note's content is most of an event's bytes, and a table
    /// lookup per byte was most of its parsing and serialization.
    @inline(__always)
    static func nextSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while index + 8 <= count {
                let w = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let quote = w ^ (ones &* 0x22)
                let backslash = w ^ (ones &* 0x5C)
                // A byte below 0x20, or a byte equal to `"` or `\\` (a zero byte after the XOR), sets
                // its high bit here; bytes of 0x80 and above never do.
                let below = (w &- ones &* 0x20) & ~w
                let zero = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                if (below | zero) & highs != 0 { break }
                index += 8
            }
        }
        let special = JSONScanner.special
        while index < count, special[Int(bytes[index])] == 0 { index += 1 }
        return index
    }

    func fail(_ reason: String) -> JSONError {
        JSONError(offset: index, reason: reason)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Consumes `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        if peek() == byte {
            index += 1
            return true
        }
        return false
    }

    mutating func expectEnd() throws(JSONError) {
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected text after the value") }
    }

    /// Reads `,` or the closing byte of an array or object; returns true at the end.
    mutating func separatorOrEnd(_ close: UInt8) throws(JSONError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","): index += 1; return false
        case close: index += 1; return true
        default: throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    /// The index in `names` of the string that comes next, when it is one of them written without
    /// escapes (as relays write an event's keys and a message's type); nil, with the scanner where
    /// it was (past any whitespace), for any other string. Spares making (and validating) a
    /// `String` of each.
    mutating func matchString(_ names: [StaticString]) -> Int? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        let end = Self.nextSpecial(in: bytes, from: start)
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<end])
        for (i, name) in names.enumerated() where name.utf8CodeUnitCount == text.count {
            if UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount).elementsEqual(text) {
                index = end + 1
                return i
            }
        }
        return nil
    }

    mutating func parseString() throws(JSONError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes.
        skipPlain()
        if index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if b < 0x20 { throw fail("control character in string") }
        }
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            // The text between escapes is copied a run at a time, not a byte at a time.
            let run = index
            skipPlain()
            if run < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index])) }
            guard index < bytes.count else { break }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one;
                    // a lone surrogate becomes U+FFFD (it cannot exist in a String).
                    if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        let save = index
                        index += 2
                        let low = try parseHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                let us = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(us).utf8)
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = Hex.nibble(bytes[index]) else { throw fail("invalid \\u escape") }
            v = v << 4 | UInt32(d)
            index += 1
        }
        return v
    }

    /// Reads a number; integers without fraction or exponent come back as `.int`.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        skipWhitespace()
        let start = index
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let digitsStart = index
        var magnitude: UInt64 = 0
        var overflow = false
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[index] - 0x30))
            overflow = overflow || o1 || o2
            magnitude = m2
            index += 1
        }
        guard index > digitsStart else { throw fail("expected a number") }
        if bytes[digitsStart] == 0x30, index - digitsStart > 1 { throw fail("leading zero in number") }
        var fractional = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            fractional = true
            index += 1
            let f = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            guard index > f else { throw fail("expected digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            fractional = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let f = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            guard index > f else { throw fail("expected digits in exponent") }
        }
        if !fractional && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)) }
            } else if magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("unreadable number") }
        return .double(d)
    }

    mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        skipWhitespace()
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("unexpected end") }
        for i in 0..<n where bytes[index + i] != word.utf8Start[i] {
            throw fail("unexpected character")
        }
        index += n
    }

    mutating func parseValue(depth: Int = 0) throws(JSONError) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nesting too deep") }
        guard let b = peek() else { throw fail("unexpected end") }
        switch b {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"):
            index += 1
            var fields: [(String, JSONValue)] = []
            if consume(UInt8(ascii: "}")) { return .object(fields) }
            repeat {
                let key = try parseString()
                try expect(UInt8(ascii: ":"))
                fields.append((key, try parseValue(depth: depth + 1)))
            } while try !separatorOrEnd(UInt8(ascii: "}"))
            return .object(fields)
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            if consume(UInt8(ascii: "]")) { return .array(items) }
            repeat {
                items.append(try parseValue(depth: depth + 1))
            } while try !separatorOrEnd(UInt8(ascii: "]"))
            return .array(items)
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), 0x30...0x39: return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    /// Skips one value, returning the byte range it occupied.
    mutating func skipValue() throws(JSONError) -> Range<Int> {
        skipWhitespace()
        let start = index
        _ = try parseValue()
        return start..<index
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
