/// The relay's connection as it changes: what `Relay.connectionChanges()` yields, the current one
/// first, then one at every connection opened or lost and at shutdown.
public struct ConnectionChange: Sendable, Equatable {
    /// The connection is open.
    public let isOpen: Bool
    /// Counts the connections opened so far: a new value means the relay was reconnected.
    public let generation: Int
    /// The client shut down: nothing changes any more, and the sequence ends after this.
    public let terminated: Bool
    /// The last attempt failed in a way waiting cannot change (`RelayConnectionError.isPermanent`).
    public let permanentFailure: Bool
}
