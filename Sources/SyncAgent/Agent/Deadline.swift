import Synchronization

/// A ledger call that got no answer in time: the database unreachable, or its pool still
/// reconnecting. The caller acts on the timeout (a renewal counts as failed, `/healthz` reports
/// the ledger) instead of waiting as long as the pool keeps trying.
struct NoAnswer: Error, Sendable, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(limit)" }
}

/// Runs `operation` and returns its result, or throws `NoAnswer` once `limit` has passed (the
/// operation is then cancelled). Not a task group, which would wait for an operation that does
/// not heed cancellation: the caller goes on at the deadline whatever the operation does.
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = DeadlineOutcome<T>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.wait(continuation)
        let work = Task {
            do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled, outcome.finish(.failure(NoAnswer(limit: limit))) else { return }
            work.cancel()
        }
        outcome.onFinish { timer.cancel() }
    }
}

/// The first of the operation's result and the deadline, delivered once.
private final class DeadlineOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let done = state.withLock { s -> Bool in
            if s.result != nil { return true }
            s.cleanup = cleanup
            return false
        }
        if done { cleanup() }
    }

    /// False when the other side finished first.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, cleanup) = state.withLock { s -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard s.result == nil else { return (nil, nil) }
            s.result = result
            defer { s.continuation = nil; s.cleanup = nil }
            return (s.continuation, s.cleanup)
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        cleanup?()
        return true
    }
}
