import Synchronization

/// Wakes one waiting loop; signals sent while nobody waits collapse into one.
/// Lets writers nudge the delivery and archive loops without polling.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
        /// The wait that ended (its deadline passed, or it was cancelled) before its continuation
        /// was registered.
        var ended = -1
        /// Signals sent through `signal()` (not `nudge()`), ever.
        var signals = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        wake(counted: true)
    }

    /// Wakes the loop like `signal()`, but leaves `signals` alone: for a waker that tells the loop
    /// what is new by another way (`DeliveryHandoff`), so the loop can tell the two apart.
    func nudge() {
        wake(counted: false)
    }

    /// How many `signal()`s were ever sent: a loop that remembers it learns whether anyone but
    /// the nudgers woke it since.
    var signals: Int { state.withLock { $0.signals } }

    private func wake(counted: Bool) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if counted { s.signals += 1 }
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled, after `timeout` (nil: only when signalled), or on cancellation.
    /// One waiter at a time.
    public func wait(timeout: Duration?) async {
        await wait(timeout: timeout, clock: ContinuousClock())
    }

    /// The same on `clock`, so a test can drive the time that passes.
    public func wait<C: Clock>(timeout: C.Duration?, clock: C) async {
        if state.withLock({ s in
            defer { s.pending = false }; return s.pending
        }) {
            return
        }
        let generation = state.withLock { s in
            s.generation += 1; return s.generation
        }
        guard let timeout else {
            await withTaskCancellationHandler {
                await parked(generation)
            } onCancel: {
                end(generation)
            }
            return
        }
        // The wait itself parks in this task; only the deadline needs a child task.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await clock.sleep(for: timeout)
                self.end(generation)
            }
            await withTaskCancellationHandler {
                await parked(generation)
            } onCancel: {
                end(generation)
            }
            group.cancelAll()
        }
    }

    private func parked(_ generation: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending || s.ended == generation {
                    s.pending = false
                    return true
                }
                s.waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Ends wait `generation`: resumes it if parked, or marks it so it does not park.
    private func end(_ generation: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.generation == generation else { return nil }
            guard let w = s.waiter else {
                s.ended = generation
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }
}
