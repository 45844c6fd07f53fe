import Dispatch
import GRDB
import Synchronization

/// The ledger's own single writer for the agent's frequent writes (recording events, delivery
/// outcomes), with group commit. Callers suspend instead of blocking a thread of Swift's shared
/// pool while SQLite's one writer is busy; everything waiting when a transaction starts goes
/// into that transaction, each request in a savepoint of its own (one failing request does not
/// fail the others), and each caller resumes only once the transaction is committed.
public final class LedgerWriter: Sendable {
    private let pool: DatabasePool
    private let path: String
    private let queue = DispatchQueue(label: "relaysync.ledger.writer")
    private let state = Mutex<(jobs: [any WriteJob], draining: Bool)>(([], false))
    private let tally = Mutex<(transactions: Int, requests: Int)>((0, 0))

    init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
    }

    /// Transactions committed and requests they carried, so far (benchmarks read the ratio).
    public var commits: (transactions: Int, requests: Int) { tally.withLock { $0 } }

    /// Runs `body` in the next group transaction and returns its result once committed.
    func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = TypedJob(operation: operation, path: path, body: body, continuation: continuation)
            let start = state.withLock { s -> Bool in
                s.jobs.append(job)
                defer { s.draining = true }
                return !s.draining
            }
            if start { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let jobs = state.withLock { s -> [any WriteJob] in
                if s.jobs.isEmpty { s.draining = false }
                defer { s.jobs = [] }
                return s.jobs
            }
            guard !jobs.isEmpty else { return }
            var failure: (any Error)?
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in jobs { job.execute(db) }
                        return .commit
                    }
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
}

private protocol WriteJob: Sendable {
    /// Runs on the writer's queue inside the group transaction.
    func execute(_ db: Database)
    /// After the commit (or its failure, which fails every request in it).
    func finish(_ commitFailure: (any Error)?)
}

/// One request; its result is set and read only on the writer's queue, between `execute` and `finish`.
private final class TypedJob<T: Sendable>: WriteJob, @unchecked Sendable {
    let operation: String
    let path: String
    let body: @Sendable (Database) throws -> T
    let continuation: CheckedContinuation<T, any Error>
    var result: Result<T, any Error>?

    init(operation: String, path: String, body: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.operation = operation
        self.path = path
        self.body = body
        self.continuation = continuation
    }

    func execute(_ db: Database) {
        do {
            var value: T?
            try db.inSavepoint {
                value = try body(db)
                return .commit
            }
            result = .success(value!)
        } catch let error as LedgerError {
            result = .failure(error)
        } catch {
            result = .failure(LedgerError(path: path, operation: operation, underlying: error))
        }
    }

    func finish(_ commitFailure: (any Error)?) {
        if let commitFailure { continuation.resume(throwing: commitFailure) } else { continuation.resume(with: result!) }
    }
}
