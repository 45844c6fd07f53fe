import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle

/// One long-lived subscription per readable relay and scope (the configured authors and kinds,
/// the inbox, each filter: apart, so a relay refusing one scope does not end the others), asking for new events only (NIP-01 `limit: 0`, no `since`): an
/// event published after it opened arrives whatever its `created_at`. What a
/// reconnect may have missed is found by reconciliation, not by dates.
struct LiveSyncService: Service {
    let relay: Relay
    let filter: Filter
    var scope: ScopeName = .authors
    /// The connection's own NIP-42 identity, when the scope is read as one recipient.
    var identity: String? = nil
    let ingestor: EventIngestor
    let ledger: any AgentLedgerStore
    let logger: Logger

    func run() async throws {
        // `since` stays only as the configured oldest date to back up, never as a clock position.
        var live = filter
        live.until = nil
        // A relay that ignores `limit: 0` sends its whole store first; `limit: 1` bounds that to one.
        live.limit = (try? await ledger.ignoresLimitZero(relay: relay.url)) == true ? 1 : 0
        let url = relay.url
        do { try await follow(live, url: url) } catch is CancellationError {
            // Shutdown: the subscription ends with the task.
        }
    }

    private func follow(_ live: Filter, url: RelayURL) async throws {
        let logger = logger.forRelay(url)
        try await cancelWhenGracefulShutdown {
            var stored = 0
            var caughtUp = false
            for try await item in relay.subscribe([live], live: true) {
                switch item {
                case let .event(event):
                    if !caughtUp { stored += 1 }
                    do { try await ingestor.ingest([event], from: url, live: caughtUp) } catch {
                        logger.error("live event not recorded", metadata: ["event.id": "\(event.id)", "error": "\(error)"])
                        throw error
                    }
                case .endOfStoredEvents:
                    caughtUp = true
                    if live.limit == 0, stored > 0 {
                        logger.notice(
                            "relay ignores limit 0 on live subscriptions; using limit 1", metadata: ["stored_events": "\(stored)"])
                        try? await ledger.noteIgnoresLimitZero(relay: url)
                    }
                    logger.debug("live subscription caught up")
                case let .closed(reason):
                    logger.warning("live subscription closed by relay", metadata: ["scope": "\(scope)", "reason": "\(reason.raw)"])
                    if scope != .authors {
                        let name = identity.map { "\(scope) as \($0)" } ?? scope.description
                        try? await ledger.noteScopeProblem(relay: url, scope: name, ScopeRefusal.describe(reason, relay: relay), at: WallClock.unixNow())
                    }
                }
            }
        }
    }
}
