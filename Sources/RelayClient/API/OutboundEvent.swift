import NostrCore

/// An event as sent: its id (to match the OK) and its exact text. Lets a caller that keeps
/// verified events as text (the ledger) publish them without parsing each one again.
public struct OutboundEvent: Sendable, Equatable {
    public let id: String
    /// The event object's JSON text, already verified by whoever kept it.
    public let rawJSON: String

    public init(id: String, rawJSON: String) {
        self.id = id
        self.rawJSON = rawJSON
    }

    public init(_ event: Event) {
        self.init(id: event.id, rawJSON: event.rawJSON)
    }

    /// `["EVENT",<event>]`, as ClientMessage would encode it.
    var message: String { "[\"EVENT\"," + rawJSON + "]" }
}
