import AsyncAlgorithms
import Logging
import RelayClient
import ServiceLifecycle
import Synchronization

/// Keeps one relay reconciled in the daemon: once its backfill is done (or at once for a relay
/// that is only written to), after every reconnect (what the connection missed while down), and
/// every `interval` (what a relay lost or gained behind our back). It sleeps until the relay's
/// connection changes or the interval comes due, never asking in between. The interval passes on
/// `clock`, so a test can move it on instead of waiting.
struct ReconcileService<C: Clock<Duration>>: Service {
    let job: ReconcileJob
    let interval: Duration
    /// Opened when the relay's backfill has finished; nil when there is none to wait for.
    let afterBackfill: Gate?
    let logger: Logger
    let clock: C

    private enum Wake: Sendable {
        case connection(ConnectionChange)
        case due
    }

    func run() async throws {
        let relay = job.relay
        await cancelWhenGracefulShutdown { await afterBackfill?.wait() }
        let due = DueTime(clock.now.advanced(by: interval), clock: clock)
        let wakes = merge(relay.connectionChanges().map { Wake.connection($0) }, due.ticks(every: interval).map { _ in Wake.due })
        var connection: ConnectionChange?
        var reconciledGeneration: Int?
        for await wake in wakes.cancelOnGracefulShutdown() {
            if case let .connection(change) = wake { connection = change }
            guard let connection, connection.isOpen else { continue }
            // Due at the first connection, after a reconnect, or when the interval has passed.
            if case .connection = wake, reconciledGeneration == connection.generation { continue }
            do { _ = try await job.run() } catch is CancellationError { return } catch {
                logger.warning("reconciliation not recorded", metadata: ["error": "\(error)"])
            }
            reconciledGeneration = connection.generation
            due.set(clock.now.advanced(by: interval))
        }
    }
}

/// When the next periodic reconciliation is due; moved later by each reconciliation.
final class DueTime<C: Clock<Duration>>: Sendable {
    private let at: Mutex<C.Instant>
    private let clock: C

    init(_ at: C.Instant, clock: C) {
        self.at = Mutex(at)
        self.clock = clock
    }

    func set(_ instant: C.Instant) { at.withLock { $0 = max($0, instant) } }

    /// One element each time the due instant passes (it then moves on by `interval` unless a
    /// reconciliation moved it first); sleeps in between.
    func ticks(every interval: Duration) -> AsyncStream<Void> {
        AsyncStream<Void> { continuation in
            let task = Task {
                while !Task.isCancelled {
                    let due = at.withLock { $0 }
                    if clock.now < due {
                        try? await clock.sleep(until: due, tolerance: nil)
                        continue
                    }
                    at.withLock { if $0 == due { $0 = due.advanced(by: interval) } }
                    continuation.yield()
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
