import Ledger
import Logging
import RelayClient
import ServiceLifecycle

/// Runs a relay's backfill once in the daemon, retrying after failures until
/// it completes; live sync covers everything newer meanwhile.
struct BackfillService: Service {
    let job: BackfillJob
    let logger: Logger
    /// Opened when the backfill completes (the relay's reconciliation waits for it).
    var done: Gate?
    static let retryDelay: Duration = .seconds(30)

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard await job.relay.waitUntilConnected(timeout: .seconds(30)) else { continue }
                do {
                    let result = try await job.run()
                    job.logger.forRelay(job.relay.url).info("backfill complete", metadata: ["events": "\(result.events)"])
                    done?.open()
                    return
                } catch is CancellationError {
                    return
                } catch {
                    try? await job.ledger.noteRelayError(job.relay.url, "\(error)", at: WallClock.unixNow())
                    logger.forRelay(job.relay.url).warning("backfill failed; will retry", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: Self.retryDelay)
                }
            }
        }
    }
}
