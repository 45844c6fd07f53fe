import NostrCore

// Tests name their relays as literals (`let a: RelayURL = "ws://127.0.0.1:7001"`). A literal that
// is not a relay URL is a mistake in the test, so it stops the test at once. Never linked into
// the product, where every URL is parsed from words that may be wrong.
extension RelayURL: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        guard let url = RelayURL(text) else { preconditionFailure("\(text) is not a relay URL") }
        self = url
    }
}

extension RelayURL {
    /// A relay URL a test builds from parts (`"ws://127.0.0.1:\(port)"`): like a literal, a text
    /// that does not parse is a mistake in the test.
    public static func built(_ text: String) -> RelayURL {
        guard let url = RelayURL(text) else { preconditionFailure("\(text) is not a relay URL") }
        return url
    }
}

extension Dictionary where Key == String {
    /// A report's map keyed by URL text (JSON object keys are strings), read by a test relay's URL.
    public subscript(_ url: RelayURL) -> Value? { self[url.normalized] }
}
