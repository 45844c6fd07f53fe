import AsyncAlgorithms
import Logging
import RelayClient
import ServiceLifecycle

/// Keeps one relay reconciled in the daemon: once its backfill is done (or at once for a relay
/// that is only written to), after every reconnect (what the connection missed while down), and
/// every `interval` (what a relay lost or gained behind our back).
struct ReconcileService: Service {
    let job: ReconcileJob
    let interval: Duration
    /// Opened when the relay's backfill has finished; nil when there is none to wait for.
    let afterBackfill: Gate?
    let logger: Logger
    /// How often a reconnect is looked for between reconciliations.
    static let reconnectPoll: Duration = .seconds(1)

    func run() async throws {
        let relay = job.relay
        await cancelWhenGracefulShutdown { await afterBackfill?.wait() }
        var reconciled: (generation: Int, due: ContinuousClock.Instant)?
        // One reconciliation now, then a look every `reconnectPoll`: due when the interval has
        // passed or the relay has connected again since the last one.
        let ticks = chain([()].async, AsyncTimerSequence(interval: Self.reconnectPoll, clock: .continuous).map { _ in () })
        for await _ in ticks.cancelOnGracefulShutdown() {
            guard await relay.isConnected else { continue }
            let generation = await relay.connectionGeneration
            if let reconciled, reconciled.generation == generation, ContinuousClock.now < reconciled.due { continue }
            do { _ = try await job.run() } catch is CancellationError { return } catch {
                logger.warning("reconciliation not recorded", metadata: ["relay.url": "\(relay.url)", "error": "\(error)"])
            }
            reconciled = (generation, ContinuousClock.now + interval)
        }
    }
}
