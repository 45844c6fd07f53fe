/// A relay's address, parsed once: `ws://` or `wss://`, a host (an IPv6 address in brackets), an
/// optional port 1-65535, a path and a query. Pure text, no networking: the dialer, the NIP-11
/// fetcher and the config reader all read relay URLs through this one type.
///
/// The normalized form (`normalized`, `description`) is how relays are compared and stored:
/// lowercase scheme and host, no trailing slash, an explicit port kept as written (`:443` stays),
/// user info and fragment dropped, the query kept. Percent escapes are kept as written.
public struct RelayURL: Sendable, Hashable, CustomStringConvertible {
    /// `wss://`.
    public let secure: Bool
    /// Lowercase; an IPv6 address without its brackets.
    public let host: String
    /// The port the URL names, if it names one.
    public let explicitPort: Int?
    /// The path without trailing slashes: empty, or starting with `/`.
    public let path: String
    /// The text after `?` (possibly empty); nil without a `?`.
    public let query: String?

    /// Parses `text` (spaces and tabs around it are ignored); nil unless it is a `ws://` or
    /// `wss://` URL with a host and, if it names one, a port 1-65535.
    public init?(_ text: String) {
        guard let parts = Self.parse(text) else { return nil }
        let (secure, host, explicitPort, path, query) = parts
        (self.secure, self.host, self.explicitPort, self.path, self.query) = parts
        let authority = explicitPort.map { "\(Self.bracketed(host)):\($0)" } ?? Self.bracketed(host)
        normalized = "\(secure ? "wss" : "ws")://\(authority)\(path)\(query.map { "?\($0)" } ?? "")"
    }

    private static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// `scheme://authority/path?query`: lowercase scheme and host, no trailing slash. Kept from
    /// parsing, since relays are compared, logged and stored by it on every event's path.
    public let normalized: String

    public static func == (a: RelayURL, b: RelayURL) -> Bool { a.normalized == b.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    /// The normalized string form of `text`, or nil when it is not a relay URL.
    public static func normalize(_ text: String) -> String? {
        RelayURL(text)?.normalized
    }

    public var scheme: String { secure ? "wss" : "ws" }
    /// The port to connect to: the explicit one, else 443 for `wss://` and 80 for `ws://`.
    public var port: Int { explicitPort ?? defaultPort }
    public var defaultPort: Int { secure ? 443 : 80 }

    /// The host is an IPv6 or dotted-quad IPv4 address rather than a name (no SNI, no DNS).
    public var isIPAddress: Bool {
        if host.contains(":") { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) && Int($0)! <= 255 }
    }

    /// The host as it appears in a URL: an IPv6 address in brackets.
    public var hostInURL: String { Self.bracketed(host) }

    /// Host and explicit port, as in the normalized URL.
    public var authority: String { explicitPort.map { "\(hostInURL):\($0)" } ?? hostInURL }

    /// What an HTTP request line names: the path (`/` when empty) and the query.
    public var requestTarget: String {
        (path.isEmpty ? "/" : path) + (query.map { "?\($0)" } ?? "")
    }

    public var description: String { normalized }

    /// Where the relay's NIP-11 document is: the same address over `http://` or `https://`.
    public var informationURL: String {
        "\(secure ? "https" : "http")://\(authority)\(path)\(query.map { "?\($0)" } ?? "")"
    }

    // MARK: Parsing

    private static func parse(_ text: String) -> (Bool, String, Int?, String, String?)? {
        var t = Substring(text)
        while let c = t.first, c == " " || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\t" { t.removeLast() }
        guard let separator = t.firstRange(of: "://") else { return nil }
        let secure: Bool
        switch t[..<separator.lowerBound].lowercased() {
        case "wss": secure = true
        case "ws": secure = false
        default: return nil
        }
        let rest = t[separator.upperBound...]
        guard !rest.contains(where: { $0.isWhitespace || $0.isASCIIControl }) else { return nil }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }

        let hostText: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { portText = nil } else if after.hasPrefix(":") { portText = after.dropFirst() } else { return nil }
            guard hostText.contains(":"), hostText.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else if let colon = authority.firstIndex(of: ":") {
            hostText = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            hostText = authority
            portText = nil
        }
        guard !hostText.isEmpty else { return nil }
        if !authority.hasPrefix("["), hostText.contains(where: { Self.forbiddenInHost.contains($0) }) { return nil }

        var port: Int?
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy(\.isASCIIDigit) else { return nil }
            let digits = portText.drop { $0 == "0" }
            guard digits.count <= 5, let p = Int(digits), (1...65535).contains(p) else { return nil }
            port = p
        }

        var tail = rest[authorityEnd...]
        if let hash = tail.firstIndex(of: "#") { tail = tail[..<hash] }
        var path: Substring
        var query: String?
        if let mark = tail.firstIndex(of: "?") {
            path = tail[..<mark]
            query = String(tail[tail.index(after: mark)...])
        } else {
            path = tail
        }
        while path.hasSuffix("/") { path.removeLast() }
        return (secure, hostText.lowercased(), port, String(path), query)
    }

    /// Characters that cannot appear in a host name (outside brackets).
    private static let forbiddenInHost: Set<Character> = ["[", "]", ":", "\\", "%", "\"", "<", ">", "^", "`", "{", "|", "}"]
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIIControl: Bool { asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false }
}

/// Ordered by the normalized text, as reports list relays.
extension RelayURL: Comparable {
    public static func < (a: RelayURL, b: RelayURL) -> Bool { a.normalized < b.normalized }
}

/// Encoded as its normalized text, so JSON and stored rows read as they did when relays were strings.
extension RelayURL: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let url = RelayURL(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text): not a ws:// or wss:// URL")
        }
        self = url
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(normalized)
    }
}
