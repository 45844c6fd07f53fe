import LedgerPostgres
import Synchronization

/// The tasks doing the work of the leases a `LeaseKeeper` holds, one per resource. A task
/// stopped by the keeper is cancelled and kept until it has ended, so the same resource is not
/// started twice in one agent; one that ends by itself is reported back (`takeEnded`). The tasks
/// are unstructured only to be cancelled one by one: the keeper stops and awaits them all before
/// it returns, and they inherit its graceful shutdown.
final class RunningWork: Sendable {
    struct Ended: Sendable {
        let token: LeaseToken
        let error: (any Error)?
    }

    private struct Entry {
        let lease: HeldLease
        var token: LeaseToken { lease.token }
        let task: Task<Void, Never>
        var stopped = false
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var ended: [Ended] = []
        /// What runs after a stopped task (giving its lease back).
        var followUps: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

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
            guard let entry = s.entries[resource], entry.token.generation == generation, !entry.stopped else { return }
            entry.lease.extend(to: instant)
        }
    }

    private func finished(_ token: LeaseToken, _ error: (any Error)?) {
        state.withLock { s in
            guard let entry = s.entries[token.resource], entry.token == token else { return }
            s.entries.removeValue(forKey: token.resource)
            if !entry.stopped { s.ended.append(Ended(token: token, error: error)) }
        }
    }

    /// Cancels the resource's work; `then` runs once it has ended.
    func stop(_ resource: String, then: (@Sendable () async -> Void)? = nil) {
        state.withLock { s in
            guard var entry = s.entries[resource] else { return }
            entry.stopped = true
            s.entries[resource] = entry
            entry.task.cancel()
            if let then {
                let task = entry.task
                s.followUps.append(
                    Task {
                        await task.value
                        await then()
                    })
            }
        }
    }

    func stopAll() {
        for resource in state.withLock({ Array($0.entries.keys) }) { stop(resource) }
    }

    /// Work still running (or still ending) for `resource`.
    func isBusy(_ resource: String) -> Bool { state.withLock { $0.entries[resource] != nil } }

    func takeEnded() -> [Ended] {
        state.withLock { s in
            defer { s.ended = [] }
            return s.ended
        }
    }

    /// Graceful shutdown: the work has seen it too and winds down (a delivery finishes its batch,
    /// the archive seals its segment); what has not ended within `limit` is cancelled.
    func finish(within limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForAll() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            stopAll()
            group.cancelAll()
        }
        await waitForAll()
    }

    func waitForAll() async {
        let tasks = state.withLock { s in s.entries.values.map(\.task) + s.followUps }
        for task in tasks { await task.value }
    }
}
