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
    await withTaskGroup(of: TimedOutcome<T>.self) { group in
        group.addTask { .done(await operation()) }
        group.addTask {
            try? await Task.sleep(for: timeout)
            await onTimeout()
            return .timedOut
        }
        let first = await group.next()
        group.cancelAll()
        if case let .done(value)? = first { return value }
        return nil
    }
}

private enum TimedOutcome<T: Sendable>: Sendable {
    case done(T)
    case timedOut
}
