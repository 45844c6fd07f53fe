/// Messages a relay sends to a client (NIP-01, NIP-42, NIP-45, NIP-77).
public enum RelayMessage: Sendable, Equatable {
    case event(subscription: String, event: Event)
    /// `eventID` is kept as sent: some relays answer rejections with an empty id.
    case ok(eventID: String, accepted: Bool, reason: RelayReason)
    case eose(subscription: String)
    case closed(subscription: String, reason: RelayReason)
    case notice(String)
    case auth(challenge: String)
    case count(subscription: String, count: Int, approximate: Bool)
    case negMsg(subscription: String, message: String)
    case negErr(subscription: String, reason: String)

    /// Reads one relay frame. Malformed or unknown input is a typed error, never a crash.
    public static func decode(_ text: String) throws(MessageDecodingError) -> RelayMessage {
        try withUTF8Bytes(text) { (buf: UnsafeBufferPointer<UInt8>) throws(MessageDecodingError) in try decode(utf8: buf) }
    }

    /// Reads one relay frame from its bytes, as they came off the socket. Only the strings read
    /// from it become `String`s, so a frame is not first copied and UTF-8-checked whole; bad UTF-8
    /// inside a string is repaired as it is read (an event so repaired then fails its id check).
    public static func decode(utf8 buf: UnsafeBufferPointer<UInt8>) throws(MessageDecodingError) -> RelayMessage {
        var frame = MessageFrame(buf)
        let type = try frame.begin()
        let message: RelayMessage
        switch type {
        case "EVENT":
            let sub = try frame.string("subscription id")
            do throws(MessageDecodingError) {
                message = .event(subscription: sub, event: try frame.event())
            } catch {
                if case let .invalidEvent(_, why) = error { throw .invalidEvent(subscription: sub, why) }
                throw error
            }
        case "OK":
            let id = try frame.string("event id")
            let accepted = try frame.bool("accepted")
            // A missing message is tolerated: some relays send only three elements.
            let reason = frame.atEnd ? "" : try frame.string("message")
            message = .ok(eventID: id, accepted: accepted, reason: RelayReason(reason))
        case "EOSE": message = .eose(subscription: try frame.string("subscription id"))
        case "CLOSED":
            let sub = try frame.string("subscription id")
            let reason = frame.atEnd ? "" : try frame.string("message")
            message = .closed(subscription: sub, reason: RelayReason(reason))
        case "NOTICE": message = .notice(try frame.string("message"))
        case "AUTH": message = .auth(challenge: try frame.string("challenge"))
        case "COUNT":
            let sub = try frame.string("subscription id")
            let body = try frame.value("count")
            guard case let .int(n) = body["count"] ?? .null, n >= 0 else { throw MessageDecodingError.badElement("count", "expected {\"count\": n}") }
            var approximate = false
            if case let .bool(b)? = body["approximate"] { approximate = b }
            message = .count(subscription: sub, count: Int(n), approximate: approximate)
        case "NEG-MSG": message = .negMsg(subscription: try frame.string("subscription id"), message: try frame.string("message"))
        case "NEG-ERR": message = .negErr(subscription: try frame.string("subscription id"), reason: try frame.string("reason"))
        default: throw MessageDecodingError.unknownType(type)
        }
        try frame.end()
        return message
    }

    /// The wire text (used by test relays).
    public var encoded: String {
        var out: [UInt8] = []
        func str(_ s: String) { CanonicalJSON.appendString(s, to: &out) }
        func raw(_ s: String) { out.append(contentsOf: s.utf8) }
        raw("[")
        switch self {
        case let .event(sub, e): str("EVENT"); raw(","); str(sub); raw(","); raw(e.rawJSON)
        case let .ok(id, accepted, reason): str("OK"); raw(","); str(id); raw(accepted ? ",true," : ",false,"); str(reason.raw)
        case let .eose(sub): str("EOSE"); raw(","); str(sub)
        case let .closed(sub, reason): str("CLOSED"); raw(","); str(sub); raw(","); str(reason.raw)
        case let .notice(m): str("NOTICE"); raw(","); str(m)
        case let .auth(c): str("AUTH"); raw(","); str(c)
        case let .count(sub, n, approx): str("COUNT"); raw(","); str(sub); raw(",{\"count\":\(n)\(approx ? ",\"approximate\":true" : "")}")
        case let .negMsg(sub, m): str("NEG-MSG"); raw(","); str(sub); raw(","); str(m)
        case let .negErr(sub, r): str("NEG-ERR"); raw(","); str(sub); raw(","); str(r)
        }
        raw("]")
        return String(decoding: out, as: UTF8.self)
    }
}
