import Synchronization

/// Runs `operation` for at most `timeout`; nil when the time ran out first.
///
/// `onTimeout` runs when the time is up or the caller is cancelled, and must make `operation`
/// return: operations that wait on a continuation ignore cancellation, and the group cannot
/// end before they do.
func withTimeout<T: Sendable>(
    _ timeout: Duration,
    onTimeout: @escaping @Sendable () async -> Void = {},
    _ operation: @escaping @Sendable () async -> T
) async -> T? {
    let expired = TimeoutFlag()
    return await withTaskGroup(of: TimedOutcome<T>.self) { group in
        group.addTask { .done(await operation()) }
        group.addTask {
            try? await Task.sleep(for: timeout)
            // Noted before `onTimeout` wakes the operation, which may then finish first.
            if !Task.isCancelled { expired.set() }
            await onTimeout()
            return .timedOut
        }
        let first = await group.next()
        let timedOut = expired.isSet
        group.cancelAll()
        if case let .done(value)? = first, !timedOut { return value }
        return nil
    }
}

private final class TimeoutFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

private enum TimedOutcome<T: Sendable>: Sendable {
    case done(T)
    case timedOut
}
