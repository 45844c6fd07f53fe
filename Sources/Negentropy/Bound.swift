/// The exclusive upper end of a range: a timestamp plus an id prefix that is
/// only as long as needed to separate two neighbouring records.
internal struct Bound: Sendable, Equatable {
    var timestamp: UInt64
    /// The prefix zero-padded to 32 bytes, so it compares directly with ids.
    var id: NegentropyID
    /// How many bytes of `id` go on the wire (0...32).
    var idLength: Int

    static let zero = Bound(timestamp: 0, id: .zero, idLength: 0)
    /// The reserved timestamp 2^64-1 stands for "past every record".
    static let infinity = Bound(timestamp: .max, id: .zero, idLength: 0)

    init(timestamp: UInt64, id: NegentropyID, idLength: Int) {
        self.timestamp = timestamp
        self.id = id
        self.idLength = idLength
    }

    init(_ item: NegentropyItem) {
        self.init(timestamp: item.timestamp, id: item.id, idLength: 32)
    }

    /// The shortest bound that still sorts after `prev` and not after `curr`,
    /// keeping messages small when many records share a timestamp.
    static func minimal(between prev: NegentropyItem, and curr: NegentropyItem) -> Bound {
        if curr.timestamp != prev.timestamp {
            return Bound(timestamp: curr.timestamp, id: .zero, idLength: 0)
        }
        let length = min(32, curr.id.sharedPrefixLength(with: prev.id) + 1)
        return Bound(timestamp: curr.timestamp, id: curr.id.truncated(to: length), idLength: length)
    }

    static func < (lhs: Bound, rhs: Bound) -> Bool {
        if lhs.timestamp != rhs.timestamp { return lhs.timestamp < rhs.timestamp }
        return lhs.id < rhs.id
    }

    /// True when `item` lies below this bound, i.e. inside a range ending here.
    func isAbove(_ item: NegentropyItem) -> Bool {
        if item.timestamp != timestamp { return item.timestamp < timestamp }
        return item.id < id
    }
}
