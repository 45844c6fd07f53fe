import NostrCore

/// One thing a subscription yields.
public enum SubscriptionItem: Sendable {
    case event(Event)
    /// Stored events are done; live subscriptions go on with new ones.
    case endOfStoredEvents
    /// The relay (or the client, e.g. on EOSE timeout) ended the subscription.
    case closed(RelayReason)
}
