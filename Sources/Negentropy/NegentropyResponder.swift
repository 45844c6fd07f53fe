/// The side that answers (the relay in NIP-77). It keeps no state between
/// messages, so one responder may answer a whole session.
public struct NegentropyResponder: Sendable {
    private let reconciler: Reconciler

    /// `frameSizeLimit` caps the replies: 0 for no cap, or at least 4096 bytes
    /// (before hex encoding).
    public init(storage: NegentropyStorage, frameSizeLimit: Int = 0) throws(NegentropyError) {
        reconciler = try Reconciler(storage: storage, frameSizeLimit: frameSizeLimit, isInitiator: false)
    }

    /// The reply to one message from the initiator. A query in another
    /// protocol version (0x60...0x6F) gets the single byte 0x61, as NIP-77
    /// asks, rather than an error.
    public mutating func reconcile(_ query: [UInt8]) throws(NegentropyError) -> [UInt8] {
        var have: [Int] = []
        var need: [NegentropyID] = []
        return try reconciler.reconcile(query, have: &have, need: &need)
    }
}
