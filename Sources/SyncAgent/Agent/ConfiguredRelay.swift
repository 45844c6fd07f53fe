import NostrCore
import RelayClient

/// A relay of the configuration as the agent runs it: its entry (URL and role), its connection,
/// the scopes read on that connection, and the signal that wakes its deliveries (recorded events
/// and requeues ring it; only a writable relay's is ever waited on).
struct ConfiguredRelay: Sendable {
    let entry: SyncConfiguration.RelayEntry
    let relay: Relay
    /// The scopes read on this connection (its `scopes`, else all; without the inboxes read on
    /// connections of their own).
    let scopes: [SyncScope]
    let deliveryWake: WakeSignal

    var url: RelayURL { entry.url }
    var role: RelayRole { entry.role }
}
