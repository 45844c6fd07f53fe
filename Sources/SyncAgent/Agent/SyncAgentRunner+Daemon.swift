import Archive
import Foundation
import Ledger
import LedgerPostgres
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle
import Synchronization
import UnixSignals

extension SyncAgentRunner {
    /// Runs until SIGTERM or SIGINT, then drains and returns nil. With `reload`, SIGHUP reads the
    /// configuration again: a valid one drains every service the same way and is returned, for
    /// the caller to run next (so relays and pubkeys added or removed take effect without a new
    /// process); an invalid one is logged and the running configuration stays.
    @discardableResult
    public func runDaemon(reload: (@Sendable () throws -> SyncConfiguration)? = nil) async throws -> SyncConfiguration? {
        let runID = try await ledger.beginRun(mode: "daemon", at: WallClock.unixNow())
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: WatchedService("relay pool", pool, watch: serviceWatch))]
        if let shared = ledger as? PostgresLedger {
            // A cluster: this agent does the relays' work, and the archive's, only while it holds
            // their leases (the heartbeat comes first so that it stops last).
            services.append(.init(service: AgentHeartbeat(ledger: shared, identity: .current, interval: configuration.leasePeriod / 3, logger: logger)))
            let keeper = LeaseKeeper(ledger: shared, identity: .current, period: configuration.leasePeriod, work: clusterWork(shared), logger: logger)
            services.append(.init(service: WatchedService("leases", keeper, watch: serviceWatch)))
        } else if let archiveConfiguration {
            let archiver = ArchiveService(configuration: archiveConfiguration, ledger: ledger, counters: counters, wake: archiveWake, logger: logger)
            services.append(.init(service: WatchedService("archive", archiver, watch: serviceWatch)))
        }
        if let media = try makeMediaWorker() {
            services.append(.init(service: WatchedService("media", MediaService(worker: media, wake: mediaWake), watch: serviceWatch)))
        }
        for target in configured where target.role.isWritable && sqlite != nil {
            var delivery = deliveryService(target)
            delivery.handoff = deliveryHandoffs?.byRelay[target.url]
            services.append(.init(service: WatchedService("delivery to \(target.url)", delivery, watch: serviceWatch)))
        }
        for target in configured where sqlite != nil {
            let relay = target.relay, entry = target.entry
            var backfilled: Gate?
            if entry.role.isReadable {
                let gate = Gate()
                backfilled = gate
                for scope in target.scopes {
                    let live = LiveSyncService(
                        relay: relay, filter: scope.relayFilter, scope: scope.name, ingestor: ingestor, ledger: ledger, logger: logger)
                    let name = scope.name == .authors ? "live subscription on \(entry.url)" : "live \(scope.name) subscription on \(entry.url)"
                    services.append(.init(service: WatchedService(name, live, watch: serviceWatch), successTerminationBehavior: .ignore))
                }
                services.append(
                    .init(
                        service: BackfillService(job: backfillJob(relay, scopes: target.scopes), logger: logger, done: gate),
                        successTerminationBehavior: .ignore))
            }
            if configuration.reconcile.enabled {
                // A backup-only relay is compared for every scope too: what it lost is pushed again.
                for scope in scopes(compared: target) {
                    services.append(
                        .init(
                            service: reconcileService(relay, scope: scope, writable: entry.role.isWritable, after: backfilled),
                            successTerminationBehavior: .ignore))
                }
            }
        }
        // In a cluster these run under leases too (`clusterWork`): an inbox read as a recipient
        // with its relay's read lease, discovery under a lease of its own.
        for reader in identityReaders where sqlite != nil {
            let label = "live \(reader.scope.recordName) subscription on \(reader.relay.url)"
            let (live, others) = identityServices(reader, ledger: ledger)
            services.append(.init(service: WatchedService(label, live, watch: serviceWatch), successTerminationBehavior: .ignore))
            for other in others { services.append(.init(service: other, successTerminationBehavior: .ignore)) }
        }
        if sqlite != nil, let discovery = discoveryService(ledger: ledger) {
            services.append(.init(service: discovery))
        }
        services.append(.init(service: HealthRecorder(pool: pool, ledger: ledger, logger: logger)))
        if let listen = configuration.metrics {
            services.append(
                .init(
                    service: MetricsServer(
                        host: listen.host, port: listen.port, metrics: { [self] in await scrape() },
                        health: { [self] in await health() }, logger: logger)))
        }
        services.append(.init(service: ProgressReporter(counters: counters, logger: logger, interval: .seconds(30))))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("agent started", metadata: ["relays": "\(configured.count)", "pubkeys": "\(configuration.pubkeys.count)"])
        let next = ReloadedConfiguration()
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                if let reload {
                    let logger = logger
                    tasks.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) {
                            do {
                                next.set(try reload())
                                logger.notice("configuration reloaded; restarting the services with it")
                                await group.triggerGracefulShutdown()
                                return
                            } catch {
                                logger.error("configuration reload refused; the running configuration stays", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
                try await group.run()
                tasks.cancelAll()
            }
        } catch {
            try? await ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 1, summaryJSON: summaryJSON())
            throw error
        }
        try await ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 0, summaryJSON: summaryJSON())
        logger.info("agent stopped")
        return next.value
    }
}

/// The configuration a SIGHUP brought, handed from the signal task to `runDaemon`'s return.
private final class ReloadedConfiguration: Sendable {
    private let box = Mutex<SyncConfiguration?>(nil)
    func set(_ configuration: SyncConfiguration) { box.withLock { $0 = configuration } }
    var value: SyncConfiguration? { box.withLock { $0 } }
}
