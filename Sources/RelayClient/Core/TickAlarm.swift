import Synchronization

/// Wakes the relay core's timer loop before its deadline: rung when something may have brought a
/// deadline nearer (a request sent, a publish queued, a connection opened or lost). A ring while
/// the loop is awake is kept for its next wait. One waiter at a time.
final class TickAlarm: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.rung = true
                return nil
            }
            s.waiter = nil
            return w
        }?.resume()
    }

    /// Whether a ring waits for the loop's next wait, which it clears (tests: the loop's part).
    func takeRing() -> Bool {
        state.withLock { s in
            defer { s.rung = false }
            return s.rung
        }
    }

    /// Returns when rung, after `timeout` (nil: no timeout), or on cancellation.
    func wait(for timeout: Duration?) async {
        if state.withLock({ s in
            defer { s.rung = false }
            return s.rung
        }) {
            return
        }
        guard let timeout else { return await waitForRing() }
        _ = await withTimeout(timeout, onTimeout: { self.ring() }) { await self.waitForRing() }
        // A ring that only ended the timed-out wait is not news for the next one.
        state.withLock { $0.rung = false }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.rung || Task.isCancelled {
                        s.rung = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }?.resume()
        }
    }
}
