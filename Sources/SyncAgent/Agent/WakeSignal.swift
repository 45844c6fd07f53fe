import Synchronization

/// Wakes one waiting loop; signals sent while nobody waits collapse into one.
/// Lets writers nudge the delivery and archive loops without polling.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
        /// The wait whose timer fired before its continuation was registered.
        var expired = -1
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled, after `timeout`, or on cancellation. One waiter at a time.
    public func wait(timeout: Duration) async {
        if state.withLock({ s in
            defer { s.pending = false }; return s.pending
        }) {
            return
        }
        let generation = state.withLock { s in
            s.generation += 1; return s.generation
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { s -> Bool in
                        if s.pending || s.expired == generation { s.pending = false; return true }
                        s.waiter = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
                    guard let w = s.waiter else { s.expired = generation; return nil }
                    s.waiter = nil
                    return w
                }
                waiter?.resume()
            }
            await group.next()
            group.cancelAll()
            await group.waitForAll()
        }
    }
}
