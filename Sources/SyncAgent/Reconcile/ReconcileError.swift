import NostrCore

/// A reconciliation that could not finish, with the relay it concerned.
public struct ReconcileError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        /// The connection's one line (`Relay.connectionFailure`): refused, DNS, certificate…
        case notConnected(String)
        case sessionLost(String)
        case malformed(String)
        case fetch(String)
    }

    public let relay: RelayURL
    let kind: Kind

    init(relay: RelayURL, _ kind: Kind) {
        self.relay = relay
        self.kind = kind
    }

    /// The relay stopped answering mid-session (or the connection ended): a new connection may
    /// finish what this one could not.
    var isSessionLost: Bool {
        if case .sessionLost = kind { true } else { false }
    }

    public var description: String {
        let why =
            switch kind {
            case let .notConnected(why): why
            case let .sessionLost(s): "session lost: \(s)"
            case let .malformed(s): "malformed reconciliation message: \(s)"
            case let .fetch(s): "fetch failed: \(s)"
            }
        return "reconciling \(relay): \(why)"
    }
}
