/// The side that starts a reconciliation (the client in NIP-77) and the only
/// side that learns the differences.
public struct NegentropyInitiator: Sendable {
    private let reconciler: Reconciler
    private var initiated = false

    /// `frameSizeLimit` caps the messages this side writes: 0 for no cap, or
    /// at least 4096 bytes (before hex encoding).
    public init(storage: NegentropyStorage, frameSizeLimit: Int = 0) throws(NegentropyError) {
        reconciler = try Reconciler(storage: storage, frameSizeLimit: frameSizeLimit, isInitiator: true)
    }

    /// The first message; callable once.
    public mutating func initiate() throws(NegentropyError) -> [UInt8] {
        guard !initiated else { throw NegentropyError(.alreadyInitiated) }
        initiated = true
        return reconciler.initialMessage()
    }

    /// Takes the responder's reply. `have` and `need` cover only what this
    /// reply settled: callers accumulate them across steps.
    public mutating func reconcile(_ message: [UInt8]) throws(NegentropyError) -> NegentropyStep {
        guard initiated else { throw NegentropyError(.notInitiated) }
        var haveAt: [Int] = []
        var need: [NegentropyID] = []
        let output = try reconciler.reconcile(message, have: &haveAt, need: &need)
        // Only the version byte: every range is settled.
        let next = output.count == 1 ? nil : output
        let items = reconciler.storage.items
        return NegentropyStep(next: next, have: haveAt.map { items[$0].id }, haveAt: haveAt, need: need)
    }
}
