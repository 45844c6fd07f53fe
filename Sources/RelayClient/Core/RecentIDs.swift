/// A set of the most recent ids, forgetting the oldest past its capacity: enough to drop the
/// replays of a re-issued subscription without growing forever.
struct RecentIDs: Sendable {
    private var set: Set<String> = []
    private var order: [String] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(16, capacity) }

    /// True when the id was not seen recently.
    mutating func insert(_ id: String) -> Bool {
        guard set.insert(id).inserted else { return false }
        order.append(id)
        if set.count > capacity {
            set.remove(order[head])
            head += 1
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
        return true
    }
}
