import Synchronization

/// The stream of one subscription on one relay. Iterate it; stopping (cancelling the task, or
/// dropping the sequence and its iterators) sends CLOSE.
public struct RelaySubscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionItem

    let handle: SubscriptionHandle

    /// The subscription id used on the wire.
    public var id: String { handle.id }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handle: SubscriptionHandle

        public mutating func next() async -> SubscriptionItem? {
            let item = await handle.buffer.next()
            if item == nil, Task.isCancelled { handle.cancel() }
            return item
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }

    /// Stops the subscription now (sends CLOSE).
    public func cancel() { handle.cancel() }

    /// Events the relay sent for this subscription before any check (for cap detection).
    var rawCount: Int { handle.rawCount.withLock { $0 } }
}

/// Shared between the consumer's sequence and the relay core; its deinit closes the
/// subscription when the consumer forgets it.
final class SubscriptionHandle: Sendable {
    let id: String
    let buffer: BoundedBuffer<SubscriptionItem>
    let rawCount = Mutex(0)
    private let onCancel: @Sendable (String) -> Void
    private let cancelled = Mutex(false)

    /// Events a query's consumer is handed at a time: it wants everything up to EOSE anyway.
    static let queryBatch = 128

    init(id: String, capacity: Int, live: Bool, onCancel: @escaping @Sendable (String) -> Void) {
        self.id = id
        self.buffer = BoundedBuffer(capacity: capacity, wakeThreshold: live ? 1 : Self.queryBatch)
        self.onCancel = onCancel
    }

    func cancel() {
        let first = cancelled.withLock { c -> Bool in
            defer { c = true }; return !c
        }
        buffer.cancel()
        if first { onCancel(id) }
    }

    deinit {
        if !cancelled.withLock({ $0 }) { onCancel(id) }
        buffer.cancel()
    }
}
