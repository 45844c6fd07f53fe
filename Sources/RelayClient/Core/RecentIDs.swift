import DequeModule

/// A set of the most recent ids, forgetting the oldest past its capacity: enough to drop the
/// replays of a re-issued subscription without growing forever.
struct RecentIDs: Sendable {
    private var set: Set<String> = []
    private var order: Deque<String> = []
    let capacity: Int

    init(capacity: Int) { self.capacity = max(16, capacity) }

    /// True when the id was not seen recently.
    mutating func insert(_ id: String) -> Bool {
        guard set.insert(id).inserted else { return false }
        order.append(id)
        if set.count > capacity, let oldest = order.popFirst() {
            set.remove(oldest)
        }
        return true
    }
}
