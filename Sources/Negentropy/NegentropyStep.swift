/// What the initiator learned from one reply, and what to send next.
public struct NegentropyStep: Sendable {
    /// The message to send next; nil once reconciliation is complete.
    public var next: [UInt8]?
    /// Ids this side has that the other side lacks (found in this step).
    public var have: [NegentropyID]
    /// Where each of `have` sits in the initiator's storage (its index in the sorted items).
    public var haveAt: [Int]
    /// Ids the other side has that this side lacks (found in this step).
    public var need: [NegentropyID]

    public init(next: [UInt8]?, have: [NegentropyID], haveAt: [Int], need: [NegentropyID]) {
        self.next = next
        self.have = have
        self.haveAt = haveAt
        self.need = need
    }
}
