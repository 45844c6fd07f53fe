import NostrCore

/// Whether an event may enter the publish queue at all. It is refused at once, without a round
/// trip, when the relay is not running, or when it is larger than the relay's NIP-11
/// `max_message_length`: the relay would drop the connection on it, and every retry would too.
enum PublishAdmission {
    /// The bytes of `["EVENT",` and `]` around the event in the frame.
    static let frameOverhead = 12

    static func refusal(of event: OutboundEvent, running: Bool, maxMessageLength: Int?) -> PublishOutcome? {
        if !running { return .notConnected }
        if let max = maxMessageLength, max > 0, event.rawByteCount + frameOverhead > max {
            return .rejected(RelayReason("invalid: event larger than the relay's max_message_length \(max)"))
        }
        return nil
    }
}
