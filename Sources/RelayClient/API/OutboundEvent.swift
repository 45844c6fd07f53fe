import NIOCore
import NostrCore

/// An event as sent: its id (to match the OK) and its exact text. Lets a caller that keeps
/// verified events as text (the ledger) publish them without parsing each one again.
public struct OutboundEvent: Sendable, Equatable {
    public let id: String
    /// `["EVENT",<event>]`, the frame's payload, made once: the event's text is copied into it
    /// as it is, never through a `String`.
    let frame: ByteBuffer

    private static let head: StaticString = "[\"EVENT\","

    /// `rawJSON` is the event object's JSON text, already verified by whoever kept it.
    public init(id: String, rawJSON: String) {
        var frame = ByteBufferAllocator().buffer(capacity: rawJSON.utf8.count + 10)
        frame.writeStaticString(Self.head)
        frame.writeString(rawJSON)
        frame.writeInteger(UInt8(ascii: "]"))
        self.id = id
        self.frame = frame
    }

    /// The same with the text as UTF-8 bytes (as the ledger reads it).
    public init(id: String, rawUTF8: [UInt8]) {
        var frame = ByteBufferAllocator().buffer(capacity: rawUTF8.count + 10)
        frame.writeStaticString(Self.head)
        frame.writeBytes(rawUTF8)
        frame.writeInteger(UInt8(ascii: "]"))
        self.id = id
        self.frame = frame
    }

    public init(_ event: Event) {
        self.init(id: event.id, rawJSON: event.rawJSON)
    }

    /// The event object's JSON text.
    public var rawJSON: String {
        String(decoding: frame.readableBytesView.dropFirst(9).dropLast(), as: UTF8.self)
    }

    /// The length of the event's text in bytes.
    var rawByteCount: Int { frame.readableBytes - 10 }
}
