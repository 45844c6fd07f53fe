import Logging
import NostrCore
import RelayClient
import ServiceLifecycle

/// NIP-65 discovery in the daemon: keeps the discovered relays of the
/// configured authors running, each as a primary for just the authors whose
/// relay lists name it (backfill, then live). Watches the indexers for new
/// relay lists, takes those seen by live sync from the inbox, re-checks on
/// the refresh interval, and starts or stops relays without a restart.
struct DiscoveryService: Service {
    let resolver: DiscoveryResolver
    let pool: RelayPool
    let inbox: RelayListInbox
    let indexers: [Relay]
    /// A discovered relay's connection settings (its AUTH key, the metrics' latency observer).
    let configure: @Sendable (RelayURL) -> RelayConfiguration
    let readers: ReaderFactory
    let logger: Logger
    /// How often the loop looks for authors due a re-check.
    var tick: Duration = .seconds(60)

    /// Builds the backfill and live services of a discovered relay.
    struct ReaderFactory: Sendable {
        let make: @Sendable (Relay, DiscoveryPlan.Assignment) -> Readers
    }

    /// What runs for one discovered relay: a live subscription and a reconciliation per scope,
    /// and the backfill.
    struct Readers: Sendable {
        let live: [LiveSyncService]
        let backfill: BackfillService
        let reconcile: [ReconcileService<ContinuousClock>]

        var services: [any Service] { live + [backfill] + reconcile }
    }

    private struct Running {
        var assignment: DiscoveryPlan.Assignment
        let stop: OneShotSignal
    }

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for indexer in indexers {
                group.addTask { await watch(indexer) }
            }
            var running: [RelayURL: Running] = [:]
            var replan = true
            var lastPlan = ContinuousClock.now
            let refresh = resolver.settings.refresh
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    if try await resolver.refresh(force: false).changed { replan = true }
                    if try await absorbInbox() { replan = true }
                    if ContinuousClock.now - lastPlan >= refresh { replan = true }
                    if replan {
                        let plan = try await resolver.plan(health: await currentHealth())
                        await apply(plan, to: &running, group: &group)
                        replan = false
                        lastPlan = ContinuousClock.now
                    }
                } catch {
                    logger.warning("discovery round failed; will retry", metadata: ["error": "\(error)"])
                }
                await cancelWhenGracefulShutdown { await inbox.wake.wait(timeout: tick) }
            }
            for reader in running.values { reader.stop.fire() }
        }
    }

    private func absorbInbox() async throws -> Bool {
        var changed = false
        for (event, relay) in inbox.drain() {
            let absorbed = try await resolver.absorb([event], from: relay, at: WallClock.unixNow())
            changed = absorbed || changed
        }
        return changed
    }

    private func currentHealth() async -> [RelayURL: RelayHealthFigures] {
        await pool.healths().mapValues(RelayHealthFigures.init)
    }

    private func apply(_ plan: DiscoveryPlan, to running: inout [RelayURL: Running], group: inout ThrowingDiscardingTaskGroup<any Error>) async {
        for (url, reader) in running where plan.assignment(url) != reader.assignment {
            reader.stop.fire()
            running[url] = nil
            if !indexers.contains(where: { $0.url == url }) { await pool.remove(url: url) }
            logger.forRelay(url).info("discovered relay stopped")
        }
        for url in plan.everyRelay where running[url] == nil {
            let assignment = plan.assignment(url)
            let relay = await pool.add(configure(url))
            let stop = OneShotSignal()
            running[url] = Running(assignment: assignment, stop: stop)
            let services = readers.make(relay, assignment)
            logger.forRelay(url).info(
                "discovered relay started",
                metadata: [
                    "authors": "\(assignment.authors.count)", "inbox_recipients": "\(assignment.inbox?.recipients.count ?? 0)",
                ])
            group.addTask { try await Self.read(services.services, until: stop) }
        }
        for (named, reason) in plan.skipped.sorted(by: { $0.key < $1.key }) {
            logger.debug("discovered relay skipped", metadata: ["relay.url": "\(named)", "reason": "\(reason)"])
        }
    }

    /// Runs a discovered relay's services until told to stop or shut down, under the rules of a
    /// configured relay's: one that ends is done, one that fails ends the agent (its error
    /// rethrown), never swallowed.
    static func read(_ services: [any Service], until stop: OneShotSignal) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                await stop.wait()
                return true
            }
            for service in services {
                group.addTask {
                    try await service.run()
                    return false
                }
            }
            var working = services.count
            while working > 0, let stopped = try await group.next() {
                if stopped { break }
                working -= 1
            }
            group.cancelAll()
            // The rest end by cancellation: what they throw on the way out is not a failure.
            while true {
                do { if try await group.next() == nil { break } } catch {}
            }
        }
    }

    /// Follows an indexer for new relay lists and profiles of the configured authors.
    private func watch(_ indexer: Relay) async {
        let filter = Filter(authors: resolver.authors, kinds: resolver.metadataKinds, limit: 0)
        try? await cancelWhenGracefulShutdown {
            for try await item in indexer.subscribe([filter], live: true) {
                if case let .event(event) = item { inbox.offer([event], from: indexer.url) }
            }
        }
    }
}
