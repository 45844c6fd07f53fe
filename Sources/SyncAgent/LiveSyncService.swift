import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle

/// One long-lived subscription per readable relay for the configured authors
/// and kinds; RelayClient re-issues it after reconnects with an overlapping
/// `since`, and the ledger drops what was already seen.
struct LiveSyncService: Service {
    let relay: Relay
    let filter: Filter
    let ingestor: EventIngestor
    let logger: Logger
    /// Seconds of overlap with backfill when the subscription starts.
    static let startOverlap: Int64 = 60

    func run() async throws {
        var start = filter
        start.since = max(filter.since ?? 0, Clock.unixNow() - Self.startOverlap)
        let live = start
        let url = relay.url
        do { try await follow(live, url: url) } catch is CancellationError {
            // Shutdown: the subscription ends with the task.
        }
    }

    private func follow(_ live: Filter, url: String) async throws {
        try await cancelWhenGracefulShutdown {
            for try await item in relay.subscribe([live], live: true) {
                switch item {
                case let .event(event):
                    do { try ingestor.ingest([event], from: url) } catch {
                        logger.error("live event not recorded", metadata: ["relay.url": "\(url)", "event.id": "\(event.id)", "error": "\(error)"])
                        throw error
                    }
                case .endOfStoredEvents:
                    logger.debug("live subscription caught up", metadata: ["relay.url": "\(url)"])
                case let .closed(reason):
                    logger.warning("live subscription closed by relay", metadata: ["relay.url": "\(url)", "reason": "\(reason.raw)"])
                }
            }
        }
    }
}
