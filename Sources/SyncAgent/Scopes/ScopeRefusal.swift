import NostrCore
import RelayClient

/// Why a relay would not serve a scope, in words that say what to do about it.
enum ScopeRefusal {
    static func describe(_ reason: RelayReason, relay: Relay) -> String {
        guard reason.prefix == .authRequired || reason.prefix == .restricted else { return reason.raw }
        let keys = relay.configuration.authKeys.count
        if keys == 0 {
            return "\(reason.raw) (the relay releases these only after NIP-42 AUTH and no key answers it here: add the recipient's key under inbox.keys)"
        }
        return "\(reason.raw) (refused after AUTH with \(keys) key\(keys == 1 ? "" : "s"): the relay wants another identity)"
    }
}
