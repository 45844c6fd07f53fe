import NIOCore
import NostrCore

/// An event as sent: its id (to match the OK) and its exact text. Lets a caller that keeps
/// verified events as text (the ledger) publish them without parsing each one again.
public struct OutboundEvent: Sendable, Equatable {
    public let id: String
    /// The event object's JSON text, already verified by whoever kept it. Shared with the
    /// caller's copy (a ledger row's bytes, an event's `String`) while the event waits to be sent.
    public let text: EventText

    private static let head: StaticString = "[\"EVENT\","

    public init(id: String, text: EventText) {
        self.id = id
        self.text = text
    }

    public init(id: String, rawJSON: String) {
        self.init(id: id, text: .string(rawJSON))
    }

    public init(_ event: Event) {
        self.init(id: event.id, rawJSON: event.rawJSON)
    }

    /// The event object's JSON text.
    public var rawJSON: String { text.string }

    /// The length of the event's text in bytes.
    var rawByteCount: Int { text.utf8Count }

    /// `["EVENT",<event>]`, the frame's payload, made as the event is sent, so that only events
    /// on their way hold a frame: the text is copied into it once, as it is.
    var frame: ByteBuffer {
        var frame = ByteBufferAllocator().buffer(capacity: text.utf8Count + 10)
        frame.writeStaticString(Self.head)
        text.withUTF8 { _ = frame.writeBytes($0) }
        frame.writeInteger(UInt8(ascii: "]"))
        return frame
    }
}
