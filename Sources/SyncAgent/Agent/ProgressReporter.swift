import AsyncAlgorithms
import Logging
import ServiceLifecycle

/// Progress of long work, from a sample of its counters. Without a terminal (a daemon, CI, a
/// pipe) it is a `progress` log line every interval when the figures changed, so progress is
/// visible without querying status; on a terminal, a live line handed to a writer at most every
/// interval (a few times a second) and cleared at the end.
public struct ProgressReporter: Service {
    public enum Output: Sendable {
        /// A `progress` log line (the figures as metadata) every interval, when they changed.
        case log(every: Duration)
        /// The line (see `ProgressLine`) handed to `write` every interval; `nil` at the end clears it.
        case line(every: Duration, write: @Sendable (String?) -> Void)
    }

    let label: String
    let logger: Logger
    let output: Output
    let sample: @Sendable () -> ProgressSample

    /// The daemon's periodic log line.
    init(counters: AgentCounters, logger: Logger, interval: Duration) {
        self.init(label: "agent", output: .log(every: interval), logger: logger) { counters.snapshot.progress }
    }

    /// `label` starts the terminal line (`run`, `restore`); `sample` is called once per interval.
    public init(label: String, output: Output, logger: Logger, sample: @escaping @Sendable () -> ProgressSample) {
        self.label = label
        self.logger = logger
        self.output = output
        self.sample = sample
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await report() }
    }

    /// Reports until the task is cancelled; a live line is cleared before returning.
    public func report() async {
        let clock = ContinuousClock()
        let started = clock.now
        var window = RateWindow()
        switch output {
        case let .log(interval):
            var last = sample()
            var lastAt = started
            for await _ in AsyncTimerSequence(interval: interval, clock: .continuous) {
                let now = sample(), at = clock.now
                if now != last {
                    var metadata: Logger.Metadata = [:]
                    for field in now.fields { metadata[field.key] = "\(field.value)" }
                    if let total = now.total { metadata["total"] = "\(total)" }
                    let seconds = Self.seconds(at - lastAt)
                    if seconds > 0 { metadata["per_second"] = "\(ProgressLine.rateText(Double(max(0, now.done - last.done)) / seconds))" }
                    logger.info("progress", metadata: metadata)
                }
                last = now
                lastAt = at
            }
        case let .line(interval, write):
            defer { write(nil) }
            // A pause after each write, not a timer sequence: after a stall a timer's ticks come
            // back to back to catch up, and a terminal line must change at most once an interval.
            // The first line is written before any suspension and even when the task is already
            // cancelled: on a loaded machine short work can end before this task first runs, and
            // it still shows its line once.
            repeat {
                let now = sample()
                let elapsed = clock.now - started
                let rate = window.add(at: Self.seconds(elapsed), done: now.done)
                write(
                    ProgressLine.format(
                        label: label, done: now.done, total: now.total, ratePerSecond: rate, elapsed: elapsed,
                        fields: now.fields.filter { !$0.label.isEmpty }))
                do { try await Task.sleep(for: interval) } catch { return }
            } while !Task.isCancelled
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension AgentCounters.Snapshot {
    /// Events received and checked so far; the other figures as fields (`rejected` on the
    /// terminal line only once there is one).
    public var progress: ProgressSample {
        let delivered = self.delivered.values.reduce(0, +) + duplicates.values.reduce(0, +)
        let rejected = self.rejected.values.flatMap(\.values).reduce(0, +)
        return ProgressSample(
            done: new + known,
            fields: [
                .init(key: "events.new", label: "new", value: new),
                .init(key: "events.known", label: "", value: known),
                .init(key: "delivered", label: "delivered", value: delivered),
                .init(key: "archived", label: "archived", value: archived),
                .init(key: "rejected", label: rejected > 0 ? "rejected" : "", value: rejected),
            ])
    }
}
