/// Bounded polling, for conditions that give no signal to wait on: a child process's exit, what a
/// relay's store holds, a log file's text. Every wait in the tests that is not an `await` on the
/// thing itself goes through here.
public enum Poll {
    /// Checks `condition` every `interval` until it holds (true) or `timeout` passes (false).
    @discardableResult
    public static func until(timeout: Duration, every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool)
        async throws -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        while !(try await condition()) {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: interval)
        }
        return true
    }
}
