import Logging
import SyncAgent

/// Progress of a long command (`run --once`, `audit`, `restore`): on a terminal, with text logs, a
/// live line on stderr redrawn at most 4 times a second and cleared before the result is printed;
/// otherwise (a pipe, a file, CI, systemd, or JSON logs) a `progress` log line every 10 seconds.
enum LiveProgress {
    static let lineInterval = Duration.milliseconds(250)
    static let logInterval = Duration.seconds(10)

    static func during<T: Sendable>(
        _ label: String, logger: Logger, format: LogFormat,
        sample: @escaping @Sendable () -> ProgressSample,
        _ work: () async throws -> T
    ) async throws -> T {
        let output: ProgressReporter.Output =
            StderrWriter.shared.isTerminal && format == .text
            ? .line(every: lineInterval, write: { StderrWriter.shared.setStatus($0) })
            : .log(every: logInterval)
        let reporter = ProgressReporter(label: label, output: output, logger: logger, sample: sample)
        let task = Task { await reporter.report() }
        do {
            let result = try await work()
            task.cancel()
            await task.value
            return result
        } catch {
            task.cancel()
            await task.value
            throw error
        }
    }
}
