import Dispatch
import GRDB
import Synchronization

/// The ledger's own single writer for the agent's frequent writes (recording events, delivery
/// outcomes), with group commit. A caller finding the writer idle commits its request on its own
/// thread (a live note's transaction then costs no thread hand-off); callers finding it busy
/// suspend instead of blocking a thread of Swift's shared pool; everything waiting when a transaction starts goes
/// into that transaction, each request in a savepoint of its own (one failing request does not
/// fail the others), and each caller resumes only once the transaction is committed.
public final class LedgerWriter: Sendable {
    private let pool: DatabasePool
    private let path: String
    private let queue = DispatchQueue(label: "relaysync.ledger.writer")
    /// `timerDue`: the earliest `writeLater` deadline armed and not yet passed.
    private let state = Mutex<(jobs: [any WriteJob], draining: Bool, timerDue: DispatchTime?)>(([], false, nil))
    private let tally = Mutex<(transactions: Int, requests: Int)>((0, 0))

    init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
    }

    /// Transactions committed and requests they carried, so far (benchmarks read the ratio).
    public var commits: (transactions: Int, requests: Int) { tally.withLock { $0 } }

    /// Runs `body` in the next group transaction and returns its result once committed.
    /// `afterCommit` runs on the writer's queue once the transaction committed, before the caller
    /// resumes: in commit order, which the callers' resumptions are not.
    func write<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (Database) throws -> T, afterCommit: (@Sendable (T) -> Void)? = nil
    ) async throws -> T {
        // An idle writer: the caller commits its request itself (with any later writes waiting),
        // which spares the two thread hand-offs, to the writer's queue and back, that a live
        // note's transaction otherwise costs. Requests that come meanwhile queue as usual, and
        // the writer's queue takes over if any are left.
        if state.withLock({ s -> Bool in
            if s.draining { return false }
            s.draining = true
            return true
        }) {
            let job = DirectJob(operation: operation, path: path, body: body, afterCommit: afterCommit)
            var jobs = state.withLock { s -> [any WriteJob] in
                defer { s.jobs = [] }
                return s.jobs
            }
            jobs.append(job)
            commit(jobs)
            let more = state.withLock { s -> Bool in
                if s.jobs.isEmpty { s.draining = false }
                return s.draining
            }
            if more { queue.async { self.drain() } }
            return try job.value()
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = TypedJob(operation: operation, path: path, body: body, continuation: continuation, afterCommit: afterCommit)
            let start = state.withLock { s -> Bool in
                s.jobs.append(job)
                defer { s.draining = true }
                return !s.draining
            }
            if start { queue.async { self.drain() } }
        }
    }

    /// Adds `body` to the next transaction without starting one and without waiting for it: it
    /// commits with the next write that comes, or after `within` if none does. `done` runs on the
    /// writer's queue after the commit (nil) or its failure. For writes whose loss in a crash
    /// costs only work done again (a delivery outcome: the event is sent again, and the relay
    /// answers `duplicate:`), so that a live note's writes share one transaction.
    func writeLater(
        _ operation: String, within: Duration, _ body: @escaping @Sendable (Database) throws -> Void,
        done: @escaping @Sendable ((any Error)?) -> Void
    ) {
        let job = LaterJob(operation: operation, path: path, body: body, done: done)
        let nanoseconds = max(0, within.components.seconds * 1_000_000_000 + within.components.attoseconds / 1_000_000_000)
        let deadline = DispatchTime.now() + .nanoseconds(Int(nanoseconds))
        let arm = state.withLock { s -> Bool in
            s.jobs.append(job)
            // A drain under way takes it; an earlier deadline armed covers it.
            if s.draining { return false }
            if let due = s.timerDue, due <= deadline { return false }
            s.timerDue = deadline
            return true
        }
        if arm { queue.asyncAfter(deadline: deadline) { self.timerFired(deadline) } }
    }

    /// Commits whatever waits (`writeLater`'s writes too) and returns once it is committed.
    func flush() async throws {
        try await write("commit waiting writes") { _ in }
    }

    private func timerFired(_ deadline: DispatchTime) {
        let start = state.withLock { s -> Bool in
            if let due = s.timerDue, due <= deadline { s.timerDue = nil }
            guard !s.draining, !s.jobs.isEmpty else { return false }
            s.draining = true
            return true
        }
        if start { drain() }
    }

    private func drain() {
        while true {
            let jobs = state.withLock { s -> [any WriteJob] in
                if s.jobs.isEmpty { s.draining = false }
                defer { s.jobs = [] }
                return s.jobs
            }
            guard !jobs.isEmpty else { return }
            commit(jobs)
        }
    }

    /// One group transaction; then each request learns how it went.
    private func commit(_ jobs: [any WriteJob]) {
        var failure: (any Error)?
        do {
            try pool.writeWithoutTransaction { db in
                try PreparedTransaction.begin(db)
                // One request alone: the transaction is its savepoint. A savepoint keeps the
                // first version of every page its request changes, past 64 KiB in a temporary
                // file: most of a large recording's writes before its commit.
                let commit: Bool
                if jobs.count == 1 {
                    commit = jobs[0].execute(db, inSavepoint: false)
                } else {
                    for job in jobs { _ = job.execute(db, inSavepoint: true) }
                    commit = true
                }
                if commit { try PreparedTransaction.commit(db) } else { PreparedTransaction.rollback(db) }
            }
        } catch {
            failure = LedgerError(path: path, operation: "commit \(jobs.count) writes", underlying: error)
        }
        tally.withLock {
            $0.transactions += 1; $0.requests += jobs.count
        }
        for job in jobs { job.finish(failure) }
    }
}

/// Runs one job's `body`, in a savepoint of the shared transaction when it has company: a failing
/// job undoes only its own writes (alone, the caller rolls the transaction back). Errors other
/// than the ledger's own are wrapped with the job's operation.
private func run<T>(_ db: Database, path: String, operation: String, inSavepoint: Bool, _ body: (Database) throws -> T) -> Result<T, any Error> {
    do {
        var value: T?
        if inSavepoint {
            try PreparedTransaction.inSavepoint(db) { value = try body(db) }
        } else {
            value = try body(db)
        }
        guard let value else { return .failure(LedgerError(path: path, operation: operation, inconsistency: "savepoint committed without a value")) }
        return .success(value)
    } catch let error as LedgerError {
        return .failure(error)
    } catch {
        return .failure(LedgerError(path: path, operation: operation, underlying: error))
    }
}

private protocol WriteJob: Sendable {
    /// Runs on the writer's queue inside the group transaction; false when the request failed.
    func execute(_ db: Database, inSavepoint: Bool) -> Bool
    /// After the commit (or its failure, which fails every request in it).
    func finish(_ commitFailure: (any Error)?)
}

/// One request; its result is set and read only on the writer's queue, between `execute` and `finish`.
private final class TypedJob<T: Sendable>: WriteJob, @unchecked Sendable {
    let operation: String
    let path: String
    let body: @Sendable (Database) throws -> T
    let continuation: CheckedContinuation<T, any Error>
    let afterCommit: (@Sendable (T) -> Void)?
    var result: Result<T, any Error>?

    init(
        operation: String, path: String, body: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>,
        afterCommit: (@Sendable (T) -> Void)?
    ) {
        self.operation = operation
        self.path = path
        self.body = body
        self.continuation = continuation
        self.afterCommit = afterCommit
    }

    func execute(_ db: Database, inSavepoint: Bool) -> Bool {
        let result = run(db, path: path, operation: operation, inSavepoint: inSavepoint, body)
        self.result = result
        if case .failure = result { return false }
        return true
    }

    func finish(_ commitFailure: (any Error)?) {
        if let commitFailure { return continuation.resume(throwing: commitFailure) }
        if let afterCommit, case let .success(value) = result { afterCommit(value) }
        continuation.resume(with: result!)
    }
}

/// A request its caller commits itself (an idle writer); read once `commit` returned.
private final class DirectJob<T: Sendable>: WriteJob, @unchecked Sendable {
    let operation: String
    let path: String
    let body: @Sendable (Database) throws -> T
    let afterCommit: (@Sendable (T) -> Void)?
    var result: Result<T, any Error>?

    init(operation: String, path: String, body: @escaping @Sendable (Database) throws -> T, afterCommit: (@Sendable (T) -> Void)?) {
        self.operation = operation
        self.path = path
        self.body = body
        self.afterCommit = afterCommit
    }

    func execute(_ db: Database, inSavepoint: Bool) -> Bool {
        let result = run(db, path: path, operation: operation, inSavepoint: inSavepoint, body)
        self.result = result
        if case .failure = result { return false }
        return true
    }

    func finish(_ commitFailure: (any Error)?) {
        if let commitFailure { return result = .failure(commitFailure) }
        if let afterCommit, case let .success(value) = result { afterCommit(value) }
    }

    func value() throws -> T { try result!.get() }
}

/// A `writeLater` request: nobody waits on it; `done` learns how it went.
private final class LaterJob: WriteJob, @unchecked Sendable {
    let operation: String
    let path: String
    let body: @Sendable (Database) throws -> Void
    let done: @Sendable ((any Error)?) -> Void
    var failure: (any Error)?

    init(operation: String, path: String, body: @escaping @Sendable (Database) throws -> Void, done: @escaping @Sendable ((any Error)?) -> Void) {
        self.operation = operation
        self.path = path
        self.body = body
        self.done = done
    }

    func execute(_ db: Database, inSavepoint: Bool) -> Bool {
        guard case let .failure(error) = run(db, path: path, operation: operation, inSavepoint: inSavepoint, body) else { return true }
        failure = error
        return false
    }

    func finish(_ commitFailure: (any Error)?) {
        done(commitFailure ?? failure)
    }
}
