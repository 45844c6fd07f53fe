import Logging
import NostrCore

extension Logger {
    /// What the subscription table noticed, as one line on the relay's logger.
    func log(_ note: SubscriptionTable.Note) {
        switch note {
        case let .eoseTimedOut(sub):
            info("subscription got no EOSE in time", metadata: ["relay.subscription": .string(sub)])
        case let .ignoresLimitZero(sub, stored):
            notice("relay ignores limit 0 on a live subscription", metadata: ["relay.subscription": .string(sub), "relay.stored_events": "\(stored)"])
        case let .closedByRelay(sub, reason):
            info("subscription closed by relay", metadata: ["relay.subscription": .string(sub), "relay.reason": .string(reason.raw)])
        }
    }
}
