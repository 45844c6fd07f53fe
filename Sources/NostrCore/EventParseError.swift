/// Why a JSON text is not a well-formed Nostr event. `field` is nil when the
/// problem is the JSON itself rather than one field.
public struct EventParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String?
    public var reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "event field \(field): \(reason)" }
        return "event: \(reason)"
    }
}
