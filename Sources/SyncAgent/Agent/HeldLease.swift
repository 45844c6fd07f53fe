import LedgerPostgres
import Synchronization

/// A lease as the work it covers sees it: the token its writes carry, and until when the agent
/// trusts it by its own clock (moved on by every renewal). The work asks before each step that
/// acts on the lease (sending a batch to a backup, writing a cursor), so an agent resumed after a
/// pause stops there before the keeper's next round, instead of sending on a lease it lost.
final class HeldLease: Sendable {
    let token: LeaseToken
    private let validUntil: Mutex<ContinuousClock.Instant>

    init(_ token: LeaseToken, validUntil: ContinuousClock.Instant) {
        self.token = token
        self.validUntil = Mutex(validUntil)
    }

    func extend(to instant: ContinuousClock.Instant) { validUntil.withLock { $0 = instant } }

    var isTrusted: Bool { ContinuousClock.now < validUntil.withLock { $0 } }

    /// Throws `LeaseLost` once the lease can no longer be trusted.
    func check() throws(LeaseLost) {
        if !isTrusted { throw LeaseLost(resource: token.resource, generation: token.generation) }
    }
}
