import NostrCore

/// How a request that a relay may ignore (`Relay.exchange(_:subscription:timeout:ignoredAfter:noticeAnswers:)`) ended.
public enum IgnorableReply: Sendable, Equatable {
    /// The relay's answer.
    case answer(RelayMessage)
    /// The relay answered a REQ sent after the request, and not the request.
    case ignored
    /// Nothing came back at all within the time allowed, or the connection ended.
    case silent
}
