/// An immutable, sorted set of records to reconcile. Build it once and share
/// it: it is a value type, and any number of initiators and responders may read
/// the same storage concurrently.
public struct NegentropyStorage: Sendable {
    internal let items: [NegentropyItem]
    /// `checkpoints[k]` is the id sum of `items[0 ..< k * checkpointStride]`.
    /// Without them every fingerprint costs a pass over its range, and with a
    /// frame size limit each message fingerprints the whole remainder of the
    /// set; with them any range costs at most two short partial sums, for
    /// 2 bytes of memory per record.
    private let checkpoints: [IDSum]
    private static let checkpointStride = 16

    /// Sorts and drops exact duplicates. Records with the timestamp 2^64-1 are
    /// dropped too: the protocol reserves that value for "infinity", so they
    /// could never be placed in a range.
    public init(items: [NegentropyItem]) {
        var sorted = items
        sorted.removeAll { $0.timestamp == .max }
        sorted.sort()
        var unique = 0
        for index in sorted.indices where index == 0 || sorted[index] != sorted[unique - 1] {
            sorted[unique] = sorted[index]
            unique += 1
        }
        sorted.removeSubrange(unique...)
        self.init(trusted: sorted)
    }

    /// Takes records already sorted by (timestamp, id) without duplicates and
    /// skips the sort; the order is only verified in debug builds. Records with
    /// the timestamp 2^64-1 are dropped, as in `init(items:)`.
    public init(sortedItems: [NegentropyItem]) {
        assert(Self.isStrictlyAscending(sortedItems), "NegentropyStorage(sortedItems:) needs items sorted by (timestamp, id) without duplicates")
        var items = sortedItems
        // Sorted order puts the reserved timestamps last.
        while let last = items.last, last.timestamp == .max {
            items.removeLast()
        }
        self.init(trusted: items)
    }

    private init(trusted items: [NegentropyItem]) {
        self.items = items
        var checkpoints = [IDSum]()
        checkpoints.reserveCapacity(items.count / Self.checkpointStride + 1)
        var sum = IDSum.zero
        for index in items.indices {
            if index % Self.checkpointStride == 0 {
                checkpoints.append(sum)
            }
            sum.add(items[index].id)
        }
        if items.count % Self.checkpointStride == 0 {
            checkpoints.append(sum)
        }
        self.checkpoints = checkpoints
    }

    private static func isStrictlyAscending(_ items: [NegentropyItem]) -> Bool {
        var index = 1
        while index < items.count {
            if !(items[index - 1] < items[index]) { return false }
            index += 1
        }
        return true
    }

    public var count: Int { items.count }

    /// The first index at or after `start` whose record is not below `bound`.
    internal func lowerBound(of bound: Bound, from start: Int) -> Int {
        var low = start
        var high = items.count
        while low < high {
            let middle = low + (high - low) / 2
            if bound.isAbove(items[middle]) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    internal func fingerprint(from lower: Int, to upper: Int) -> Fingerprint {
        sum(from: lower, to: upper).fingerprint(count: upper - lower)
    }

    internal func sum(from lower: Int, to upper: Int) -> IDSum {
        if upper - lower <= 2 * Self.checkpointStride {
            return directSum(from: lower, to: upper)
        }
        var total = prefixSum(upper)
        total.subtract(prefixSum(lower))
        return total
    }

    private func prefixSum(_ end: Int) -> IDSum {
        let block = end / Self.checkpointStride
        var total = checkpoints[block]
        total.add(directSum(from: block * Self.checkpointStride, to: end))
        return total
    }

    private func directSum(from lower: Int, to upper: Int) -> IDSum {
        var total = IDSum.zero
        var index = lower
        while index < upper {
            total.add(items[index].id)
            index += 1
        }
        return total
    }
}
