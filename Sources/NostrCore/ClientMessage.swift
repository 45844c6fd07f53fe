/// Messages a client sends to a relay (NIP-01, NIP-42, NIP-45, NIP-77).
public enum ClientMessage: Sendable, Equatable {
    case event(Event)
    case req(subscription: String, filters: [Filter])
    case close(subscription: String)
    case auth(Event)
    case count(subscription: String, filters: [Filter])
    case negOpen(subscription: String, filter: Filter, message: String)
    case negMsg(subscription: String, message: String)
    case negClose(subscription: String)

    /// The wire text. Events go out as the exact text they were received in.
    public var encoded: String {
        var out: [UInt8] = []
        func str(_ s: String) { CanonicalJSON.appendString(s, to: &out) }
        func raw(_ s: String) { out.append(contentsOf: s.utf8) }
        func filters(_ fs: [Filter]) { for f in fs { raw(","); f.json.append(to: &out) } }
        raw("[")
        switch self {
        case let .event(e): str("EVENT"); raw(","); raw(e.rawJSON)
        case let .req(sub, fs): str("REQ"); raw(","); str(sub); filters(fs)
        case let .close(sub): str("CLOSE"); raw(","); str(sub)
        case let .auth(e): str("AUTH"); raw(","); raw(e.rawJSON)
        case let .count(sub, fs): str("COUNT"); raw(","); str(sub); filters(fs)
        case let .negOpen(sub, f, msg): str("NEG-OPEN"); raw(","); str(sub); filters([f]); raw(","); str(msg)
        case let .negMsg(sub, msg): str("NEG-MSG"); raw(","); str(sub); raw(","); str(msg)
        case let .negClose(sub): str("NEG-CLOSE"); raw(","); str(sub)
        }
        raw("]")
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads a client message (used by relays and by test relays).
    public static func decode(_ text: String) throws(MessageDecodingError) -> ClientMessage {
        return try withUTF8Bytes(text) { (buf: UnsafeBufferPointer<UInt8>) throws(MessageDecodingError) in
            var frame = MessageFrame(buf)
            let type = try frame.begin()
            let message: ClientMessage
            switch type {
            case "EVENT": message = .event(try frame.event())
            case "AUTH": message = .auth(try frame.event())
            case "REQ": message = .req(subscription: try frame.string("subscription id"), filters: try frame.filters())
            case "COUNT": message = .count(subscription: try frame.string("subscription id"), filters: try frame.filters())
            case "CLOSE": message = .close(subscription: try frame.string("subscription id"))
            case "NEG-OPEN":
                let sub = try frame.string("subscription id")
                let filter = try frame.filter()
                message = .negOpen(subscription: sub, filter: filter, message: try frame.string("message"))
            case "NEG-MSG": message = .negMsg(subscription: try frame.string("subscription id"), message: try frame.string("message"))
            case "NEG-CLOSE": message = .negClose(subscription: try frame.string("subscription id"))
            default: throw MessageDecodingError.unknownType(type)
            }
            try frame.end()
            return message
        }
    }
}
