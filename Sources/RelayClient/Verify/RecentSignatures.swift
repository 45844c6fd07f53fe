import NostrCore
import Synchronization

/// The last signatures found valid, by event id, for the whole process. A live note arrives from
/// every primary that has it, usually within milliseconds of each other; its later copies then
/// cost the id's hash instead of another Schnorr verify (40-50 µs here). Bounded: the oldest
/// entry goes first.
final class RecentSignatures: Sendable {
    static let shared = RecentSignatures(capacity: 1024)

    private struct State {
        var signatures: [String: String] = [:]
        var order: [String] = []
        var next = 0
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Verifies `event`, skipping the signature when this id was verified with this signature.
    func verify(_ event: Event) -> EventVerification {
        let verification = event.verify(signatureKnownValid: { id, sig in
            state.withLock { $0.signatures[id] == sig }
        })
        if verification == .valid { remember(id: event.id, sig: event.sig) }
        return verification
    }

    private func remember(id: String, sig: String) {
        state.withLock { s in
            guard s.signatures.updateValue(sig, forKey: id) == nil else { return }
            if s.order.count < capacity {
                s.order.append(id)
            } else {
                s.signatures[s.order[s.next]] = nil
                s.order[s.next] = id
                s.next = (s.next + 1) % capacity
            }
        }
    }

    var count: Int { state.withLock { $0.signatures.count } }

    func remembers(_ event: Event) -> Bool { state.withLock { $0.signatures[event.id] == event.sig } }
}
