import Synchronization

/// Fires once; every waiter (past or future) is released. Used to cut sleeps short on shutdown.
public final class OneShotSignal: Sendable {
    public init() {}

    private struct State {
        var fired = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    public var hasFired: Bool { state.withLock { $0.fired } }

    public func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns when fired or when the task is cancelled.
    public func wait() async {
        let id = state.withLock { s -> Int in
            s.next += 1; return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps for `duration` unless the signal fires first. Returns true when it fired.
    func sleep(for duration: Duration) async -> Bool {
        if hasFired { return true }
        _ = await withTimeout(duration) { await self.wait() }
        return hasFired
    }
}
