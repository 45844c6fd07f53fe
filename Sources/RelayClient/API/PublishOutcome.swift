import NostrCore

/// What became of one published event on one relay.
public enum PublishOutcome: Sendable, Equatable, CustomStringConvertible {
    case accepted
    /// The relay already had it: counts as delivered.
    case duplicate(String)
    case rejected(RelayReason)
    case rateLimited(RelayReason)
    case authRequired(RelayReason)
    case timedOut
    case notConnected

    public var isDelivered: Bool {
        switch self {
        case .accepted, .duplicate: true
        default: false
        }
    }

    /// Re-sending the same event to the same relay will not help.
    public var isPermanentFailure: Bool {
        guard case let .rejected(reason) = self else { return false }
        switch reason.prefix {
        case .invalid, .blocked, .pow, .restricted, .none: return true
        case .error, .mute, .duplicate, .rateLimited, .authRequired: return false
        }
    }

    public var description: String {
        switch self {
        case .accepted: "accepted"
        case let .duplicate(m): "duplicate (\(m))"
        case let .rejected(r): "rejected (\(r.raw))"
        case let .rateLimited(r): "rate-limited (\(r.raw))"
        case let .authRequired(r): "auth-required (\(r.raw))"
        case .timedOut: "timed out"
        case .notConnected: "not connected"
        }
    }

    /// Maps a relay's OK answer to an outcome.
    init(accepted: Bool, reason: RelayReason) {
        if reason.prefix == .duplicate {
            self = .duplicate(reason.message)
        } else if accepted {
            self = .accepted
        } else {
            switch reason.prefix {
            case .rateLimited: self = .rateLimited(reason)
            case .authRequired: self = .authRequired(reason)
            default: self = .rejected(reason)
            }
        }
    }
}
