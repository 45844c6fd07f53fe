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
        await cancelWhenGracefulShutdown {
            await afterBackfill?.wait()
            while !Task.isCancelled {
                guard await relay.waitUntilConnected(timeout: .seconds(30)) else { continue }
                let generation = await relay.connectionGeneration
                do { _ = try await job.run() } catch is CancellationError { return } catch {
                    logger.warning("reconciliation not recorded", metadata: ["relay.url": "\(relay.url)", "error": "\(error)"])
                }
                let due = ContinuousClock.now + interval
                while !Task.isCancelled, ContinuousClock.now < due {
                    try? await Task.sleep(for: min(Self.reconnectPoll, due - ContinuousClock.now))
                    if await relay.connectionGeneration != generation { break }
                }
            }
        }
    }
}
