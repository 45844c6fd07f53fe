import NIOCore

/// When to ping, and when a connection is dead: a ping went unanswered for a whole period and
/// no other frame arrived in that time either. A busy relay whose pong waits behind a long run
/// of EVENTs is alive, so any frame counts as a sign of life, and it is asked again.
struct Keepalive {
    enum Action: Equatable {
        case ping(ByteBuffer)
        case dead
    }

    private var counter: UInt64 = 0
    private var outstanding: (payload: UInt64, sentAt: Duration)?
    private var lastFrameAt: Duration

    init(openedAt: Duration) {
        lastFrameAt = openedAt
    }

    mutating func frameReceived(at now: Duration) {
        lastFrameAt = now
    }

    /// Called once per ping period.
    mutating func periodElapsed(at now: Duration) -> Action {
        if let sent = outstanding, lastFrameAt <= sent.sentAt { return .dead }
        counter += 1
        outstanding = (counter, now)
        var payload = ByteBuffer()
        payload.writeInteger(counter)
        return .ping(payload)
    }

    /// The round trip when the pong answers the ping in flight; nil for any other pong
    /// (RFC 6455 allows unsolicited ones).
    mutating func pong(_ payload: ByteBuffer, at now: Duration) -> Duration? {
        lastFrameAt = now
        guard let sent = outstanding, payload.readableBytes == 8,
            payload.getInteger(at: payload.readerIndex, as: UInt64.self) == sent.payload
        else { return nil }
        outstanding = nil
        return now - sent.sentAt
    }
}
