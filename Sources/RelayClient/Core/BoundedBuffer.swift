import DequeModule
import Synchronization

/// A single-consumer queue with a capacity: producers suspend while it is full, which is how
/// a slow subscriber stops the connection from reading (and TCP pushes back on the relay).
final class BoundedBuffer<Element: Sendable>: Sendable {
    private struct State {
        var items: Deque<Element> = []
        var finished = false
        var consumer: CheckedContinuation<Element?, Never>?
        var producers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextProducer = 0
        var count: Int { items.count }

        mutating func pop() -> Element? { items.popFirst() }
    }

    private enum PushStep { case done(Bool), full }
    private enum PopStep { case value(Element?, CheckedContinuation<Void, Never>?), wait }

    let capacity: Int
    /// A waiting consumer is woken once this many elements are buffered (or by `pushNow`,
    /// `finish`, `cancel`). Above 1 for consumers that want everything until a control item
    /// anyway: one wake-up per batch instead of a thread hand-off per event.
    let wakeThreshold: Int
    private let state = Mutex(State())

    init(capacity: Int, wakeThreshold: Int = 1) {
        self.capacity = max(1, capacity)
        self.wakeThreshold = min(max(1, wakeThreshold), self.capacity)
    }

    var count: Int { state.withLock { $0.count } }
    var isFinished: Bool { state.withLock { $0.finished } }
    /// A producer is waiting for room: the consumer, not the relay, is the bottleneck.
    var isBackpressured: Bool { state.withLock { !$0.producers.isEmpty } }

    /// Adds an element, suspending while the buffer is full. Returns false when the consumer
    /// has gone (the element is dropped). A cancelled producer adds past the capacity rather
    /// than lose the element; there is one producer per connection, so the overshoot is bounded.
    @discardableResult
    func push(_ element: Element) async -> Bool {
        while true {
            let step: PushStep = state.withLock { s in
                if s.finished { return .done(false) }
                if let c = s.consumer, s.count + 1 >= wakeThreshold {
                    s.consumer = nil
                    s.items.append(element)
                    c.resume(returning: s.pop())
                    return .done(true)
                }
                if s.count < capacity || Task.isCancelled {
                    s.items.append(element)
                    return .done(true)
                }
                return .full
            }
            if case let .done(ok) = step { return ok }
            let id = state.withLock { s -> Int in
                s.nextProducer += 1; return s.nextProducer
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s -> Bool in
                        if s.finished || s.count < capacity || Task.isCancelled { return true }
                        s.producers[id] = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                let c = state.withLock { $0.producers.removeValue(forKey: id) }
                c?.resume()
            }
        }
    }

    /// Adds an element without waiting (control items such as EOSE); ignores the capacity.
    func pushNow(_ element: Element) {
        let c: (CheckedContinuation<Element?, Never>, Element?)? = state.withLock { s in
            if s.finished { return nil }
            s.items.append(element)
            guard let c = s.consumer else { return nil }
            s.consumer = nil
            return (c, s.pop())
        }
        c?.0.resume(returning: c?.1)
    }

    /// Next element; nil once finished and drained. Cancelling the consumer finishes the buffer.
    func next() async -> Element? {
        // Fast path: an element is ready, so no continuation or cancellation handler is needed.
        let ready: PopStep = state.withLock { s in
            guard let e = s.pop() else { return s.finished ? .value(nil, nil) : .wait }
            var woken: CheckedContinuation<Void, Never>?
            if let key = s.producers.keys.first { woken = s.producers.removeValue(forKey: key) }
            return .value(e, woken)
        }
        if case let .value(e, woken) = ready {
            woken?.resume()
            return e
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                let step: PopStep = state.withLock { s in
                    if let e = s.pop() {
                        var woken: CheckedContinuation<Void, Never>?
                        if let key = s.producers.keys.first { woken = s.producers.removeValue(forKey: key) }
                        return .value(e, woken)
                    }
                    if s.finished || Task.isCancelled { return .value(nil, nil) }
                    s.consumer = c
                    return .wait
                }
                if case let .value(e, woken) = step {
                    woken?.resume()
                    c.resume(returning: e)
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// No more elements will come; the consumer drains what is buffered.
    func finish() {
        let (consumer, producers) = state.withLock { s -> ((CheckedContinuation<Element?, Never>, Element?)?, [CheckedContinuation<Void, Never>]) in
            s.finished = true
            let c = s.consumer.map { ($0, s.pop()) }
            s.consumer = nil
            let p = Array(s.producers.values)
            s.producers = [:]
            return (c, p)
        }
        consumer?.0.resume(returning: consumer?.1)
        for p in producers { p.resume() }
    }

    /// The consumer is gone: drop everything and release producers.
    func cancel() {
        let (consumer, producers) = state.withLock { s -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) in
            s.finished = true
            s.items = []
            let c = s.consumer
            s.consumer = nil
            let p = Array(s.producers.values)
            s.producers = [:]
            return (c, p)
        }
        consumer?.resume(returning: nil)
        for p in producers { p.resume() }
    }
}
