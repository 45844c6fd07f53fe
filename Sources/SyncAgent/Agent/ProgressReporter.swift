import Logging
import ServiceLifecycle

/// A periodic one-line summary in the log, so a daemon's progress is visible
/// without querying status.
struct ProgressReporter: Service {
    let counters: AgentCounters
    let logger: Logger
    let interval: Duration

    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await report() } } catch is CancellationError {}
    }

    private func report() async throws {
        var last = counters.snapshot
        while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let now = counters.snapshot
                let delivered = now.delivered.values.reduce(0, +) + now.duplicates.values.reduce(0, +)
                let lastDelivered = last.delivered.values.reduce(0, +) + last.duplicates.values.reduce(0, +)
                if now.new != last.new || delivered != lastDelivered || now.archived != last.archived {
                    logger.info("progress", metadata: [
                        "events.new": "\(now.new)", "events.known": "\(now.known)",
                        "delivered": "\(delivered)", "archived": "\(now.archived)",
                        "rejected": "\(now.rejected.values.flatMap(\.values).reduce(0, +))",
                    ])
                }
                last = now
        }
    }
}
