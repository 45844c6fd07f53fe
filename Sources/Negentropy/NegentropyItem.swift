/// One record: the protocol orders records by timestamp, then by id bytes.
public struct NegentropyItem: Comparable, Hashable, Sendable {
    public let timestamp: UInt64
    public let id: NegentropyID

    public init(timestamp: UInt64, id: NegentropyID) {
        self.timestamp = timestamp
        self.id = id
    }

    public static func < (lhs: NegentropyItem, rhs: NegentropyItem) -> Bool {
        if lhs.timestamp != rhs.timestamp { return lhs.timestamp < rhs.timestamp }
        return lhs.id < rhs.id
    }
}
