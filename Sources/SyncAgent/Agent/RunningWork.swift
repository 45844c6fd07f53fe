import LedgerPostgres
import Synchronization

/// The tasks doing the work of the leases a `LeaseKeeper` holds, one per resource. A task
/// stopped by the keeper is cancelled and kept until it has ended, so the same resource is not
/// started twice in one agent; one that ends by itself is reported back (`takeEnded`). The tasks
/// are unstructured only to be cancelled one by one; they inherit the keeper's graceful shutdown.
///
/// A stopped task that has not ended after `abandonAfter` is let go: its lease is no longer
/// trusted (`HeldLease`) and the database refuses its generation, so it can neither send nor write
/// anything, and waiting for it would keep the resource from this agent for good. (An agent
/// resumed after a pause longer than its lease has shown such a task, cancelled inside a ledger
/// call whose session PostgreSQL had ended meanwhile.)
final class RunningWork: Sendable {
    struct Ended: Sendable {
        let token: LeaseToken
        let error: (any Error)?
    }

    private struct Entry {
        let lease: HeldLease
        var token: LeaseToken { lease.token }
        let task: Task<Void, Never>
        var stoppedAt: ContinuousClock.Instant?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var ended: [Ended] = []
        /// What runs after a stopped task (giving its lease back).
        var followUps: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())
    let abandonAfter: Duration

    init(abandonAfter: Duration) { self.abandonAfter = abandonAfter }

    func start(_ lease: HeldLease, _ work: @escaping LeaseKeeper.Work) {
        state.withLock { s in
            let task = Task {
                var failure: (any Error)?
                do { try await work(lease) } catch is CancellationError {} catch { failure = error }
                self.finished(lease.token, failure)
            }
            s.entries[lease.token.resource] = Entry(lease: lease, task: task)
        }
    }

    /// A renewal: the work may trust its lease until `instant`.
    func extend(_ resource: String, generation: Int64, to instant: ContinuousClock.Instant) {
        state.withLock { s in
            guard let entry = s.entries[resource], entry.token.generation == generation, entry.stoppedAt == nil else { return }
            entry.lease.extend(to: instant)
        }
    }

    private func finished(_ token: LeaseToken, _ error: (any Error)?) {
        state.withLock { s in
            guard let entry = s.entries[token.resource], entry.token == token else { return }
            s.entries.removeValue(forKey: token.resource)
            if entry.stoppedAt == nil { s.ended.append(Ended(token: token, error: error)) }
        }
    }

    /// Cancels the resource's work; `then` runs once it has ended (or been let go).
    func stop(_ resource: String, then: (@Sendable () async -> Void)? = nil) {
        state.withLock { s in
            guard var entry = s.entries[resource] else { return }
            if entry.stoppedAt == nil { entry.stoppedAt = .now }
            s.entries[resource] = entry
            entry.task.cancel()
            if let then {
                let task = entry.task
                let limit = abandonAfter
                s.followUps.append(
                    Task {
                        await Self.wait(for: [task], within: limit)
                        await then()
                    })
            }
        }
    }

    func stopAll() {
        for resource in state.withLock({ Array($0.entries.keys) }) { stop(resource) }
    }

    /// Work still running, or stopped and still ending, for `resource`; nil when there is none.
    /// A stopped task past `abandonAfter` is let go here, and its token returned in `abandoned`.
    func busy(_ resource: String) -> (busy: Bool, abandoned: LeaseToken?) {
        state.withLock { s in
            guard let entry = s.entries[resource] else { return (false, nil) }
            guard let stoppedAt = entry.stoppedAt, ContinuousClock.now - stoppedAt >= abandonAfter else { return (true, nil) }
            s.entries.removeValue(forKey: resource)
            return (false, entry.token)
        }
    }

    func takeEnded() -> [Ended] {
        state.withLock { s in
            defer { s.ended = [] }
            return s.ended
        }
    }

    /// Graceful shutdown: the work has seen it too and winds down (a delivery finishes its batch,
    /// the archive seals its segment); what has not ended within `limit` is cancelled, and what
    /// has not ended `abandonAfter` later is let go.
    func finish(within limit: Duration) async {
        let running = state.withLock { s in s.entries.values.map(\.task) }
        await Self.wait(for: running, within: limit)
        stopAll()
        let all = state.withLock { s in s.entries.values.map(\.task) + s.followUps }
        await Self.wait(for: all, within: abandonAfter)
    }

    /// Waits for `tasks` to end, at most `limit`. Not a task group: a group waits for all its
    /// children, and awaiting a task that does not end cannot be cancelled.
    static func wait(for tasks: [Task<Void, Never>], within limit: Duration) async {
        let done = Gate()
        let waiter = Task {
            for task in tasks { await task.value }
            done.open()
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            done.open()
        }
        await done.wait()
        timer.cancel()
        _ = waiter  // left waiting only on tasks that were let go
    }
}
