import NostrCore
import Synchronization

/// What each relay was found not to support (NIP-77, NIP-45 COUNT), so later reconciliations go
/// straight to what works instead of waiting for an answer that will not come. A relay is asked
/// again after `retryAfter`: relays get upgraded.
final class ReconcileMethods: Sendable {
    enum Method: Sendable, Hashable { case negentropy, count }

    private struct Key: Hashable {
        let method: Method
        let url: RelayURL
    }

    private let unsupportedSince = Mutex<[Key: ContinuousClock.Instant]>([:])
    let retryAfter: Duration

    init(retryAfter: Duration = .seconds(6 * 3600)) {
        self.retryAfter = retryAfter
    }

    func mayTry(_ method: Method, on url: RelayURL) -> Bool {
        unsupportedSince.withLock { known in
            guard let since = known[Key(method: method, url: url)] else { return true }
            return ContinuousClock.now - since >= retryAfter
        }
    }

    func noteUnsupported(_ method: Method, on url: RelayURL) {
        unsupportedSince.withLock { $0[Key(method: method, url: url)] = .now }
    }
}
