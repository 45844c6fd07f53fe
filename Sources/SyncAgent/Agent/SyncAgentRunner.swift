import Archive
import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Builds the agent from a configuration and runs it, as a daemon
/// (`runDaemon`) or as a one-shot backfill (`runOnce`).
public final class SyncAgentRunner: Sendable {
    public let configuration: SyncConfiguration
    let logger: Logger
    let ledger: Ledger
    let pool: RelayPool
    let relays: [String: Relay]
    let counters = AgentCounters()
    let deliveryWake: [String: WakeSignal]
    let archiveWake = WakeSignal()
    let ingestor: EventIngestor
    let authKey: SecretKey?
    /// Set when discovery is on.
    let discovery: (resolver: DiscoveryResolver, inbox: RelayListInbox, indexers: [Relay])?
    /// How long a one-shot run keeps retrying a relay that makes no progress.
    let onceGiveUp: Duration
    /// What each relay was found not to support when reconciling.
    let reconcileMethods = ReconcileMethods()
    public let metrics: AgentMetrics
    let serviceWatch = ServiceWatch()

    public init(
        configuration: SyncConfiguration, logger: Logger, onceGiveUp: Duration = .seconds(60),
        metrics: AgentMetrics = AgentMetrics()
    ) async throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onceGiveUp = onceGiveUp
        let key = try configuration.loadSecretKey()
        authKey = key
        ledger = try Ledger(path: configuration.ledgerPath.path)
        pool = RelayPool(logger: logger)
        var relays: [String: Relay] = [:]
        for entry in configuration.relays {
            var relayConfiguration = Self.relayConfiguration(entry.url, authKey: entry.auth ? key : nil, metrics: metrics)
            if let roots = entry.trustRoots { relayConfiguration.trust(roots) }
            relays[entry.url] = await pool.add(relayConfiguration)
        }
        self.relays = relays
        let writable = configuration.writableRelays.map(\.url)
        deliveryWake = Dictionary(uniqueKeysWithValues: writable.map { ($0, WakeSignal()) })
        let inbox = configuration.discover.enabled ? RelayListInbox(authors: configuration.pubkeys) : nil
        ingestor = EventIngestor(
            ledger: ledger, writableRelays: writable, counters: counters, deliveryWake: deliveryWake,
            archiveWake: archiveWake, filter: configuration.filter, logger: logger, relayLists: inbox,
            metrics: metrics, now: { WallClock.unixNow() })
        if let inbox {
            var indexers: [Relay] = []
            for url in configuration.discover.indexers { indexers.append(await pool.add(RelayConfiguration(url: url))) }
            let readable = configuration.readableRelays.compactMap { relays[$0.url] }.filter { r in !indexers.contains { $0 === r } }
            let resolver = DiscoveryResolver(
                settings: configuration.discover, authors: configuration.pubkeys, sources: indexers + readable,
                configured: Set(configuration.relays.map(\.url)), hasKey: key != nil && configuration.discover.auth, ledger: ledger,
                ingestor: ingestor, information: InformationCache(ledger: ledger, logger: logger), logger: logger)
            discovery = (resolver, inbox, indexers)
        } else {
            discovery = nil
        }
        _ = try ledger.ensureDeliveries(toWritableRelays: writable, now: WallClock.unixNow())
    }

    var archiveConfiguration: ArchiveConfiguration? {
        configuration.archive.map {
            var a = ArchiveConfiguration(directory: $0.directory)
            a.rotateBytes = $0.rotateBytes
            a.rotateAge = $0.rotateAge
            a.compressionLevel = $0.compressionLevel
            return a
        }
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns nil. With `reload`, SIGHUP reads the
    /// configuration again: a valid one drains every service the same way and is returned, for
    /// the caller to run next (so relays and pubkeys added or removed take effect without a new
    /// process); an invalid one is logged and the running configuration stays.
    @discardableResult
    public func runDaemon(reload: (@Sendable () throws -> SyncConfiguration)? = nil) async throws -> SyncConfiguration? {
        let runID = try ledger.beginRun(mode: "daemon", at: WallClock.unixNow())
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: WatchedService("relay pool", pool, watch: serviceWatch))]
        if let archiveConfiguration {
            let archiver = ArchiveService(configuration: archiveConfiguration, ledger: ledger, counters: counters, wake: archiveWake, logger: logger)
            services.append(.init(service: WatchedService("archive", archiver, watch: serviceWatch)))
        }
        if let media = try makeMediaWorker() { services.append(.init(service: WatchedService("media", MediaService(worker: media), watch: serviceWatch))) }
        for entry in configuration.writableRelays {
            services.append(.init(service: WatchedService("delivery to \(entry.url)", deliveryService(relays[entry.url]!), watch: serviceWatch)))
        }
        for entry in configuration.relays {
            let relay = relays[entry.url]!
            var backfilled: Gate?
            if entry.role.isReadable {
                let gate = Gate()
                backfilled = gate
                let live = LiveSyncService(relay: relay, filter: configuration.filter, ingestor: ingestor, ledger: ledger, logger: logger)
                services.append(
                    .init(
                        service: WatchedService("live subscription on \(entry.url)", live, watch: serviceWatch),
                        successTerminationBehavior: .ignore))
                services.append(.init(service: BackfillService(job: backfillJob(relay), logger: logger, done: gate), successTerminationBehavior: .ignore))
            }
            if configuration.reconcile.enabled {
                services.append(
                    .init(service: reconcileService(relay, writable: entry.role.isWritable, after: backfilled), successTerminationBehavior: .ignore))
            }
        }
        if let discovery {
            let factory = DiscoveryService.ReaderFactory { [self] relay, authors in
                let gate = Gate()
                return DiscoveryService.Readers(
                    live: LiveSyncService(
                        relay: relay, filter: Filter(authors: authors, kinds: configuration.kinds, since: configuration.since),
                        ingestor: ingestor, ledger: ledger, logger: logger),
                    backfill: BackfillService(job: backfillJob(relay, authors: authors), logger: logger, done: gate),
                    reconcile: configuration.reconcile.enabled ? reconcileService(relay, authors: authors, writable: false, after: gate) : nil)
            }
            services.append(
                .init(
                    service: DiscoveryService(
                        resolver: discovery.resolver, pool: pool, inbox: discovery.inbox, indexers: discovery.indexers,
                        configure: { [self] in discoveredRelayConfiguration($0) }, readers: factory, logger: logger)))
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
        logger.info("agent started", metadata: ["relays": "\(relays.count)", "pubkeys": "\(configuration.pubkeys.count)"])
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
            try? ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 1, summaryJSON: summaryJSON())
            throw error
        }
        try ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 0, summaryJSON: summaryJSON())
        logger.info("agent stopped")
        return next.value
    }

    func backfillJob(_ relay: Relay, authors: [String]? = nil) -> BackfillJob {
        var job = BackfillJob(
            relay: relay, authors: authors ?? configuration.pubkeys, kinds: configuration.kinds, since: configuration.since,
            ledger: ledger, ingestor: ingestor, logger: logger)
        job.catchUp = !configuration.reconcile.enabled
        return job
    }

    static func relayConfiguration(_ url: String, authKey: SecretKey?, metrics: AgentMetrics) -> RelayConfiguration {
        var c = RelayConfiguration(url: url, authKey: authKey)
        c.latencyObserver = metrics.latencyObserver(relay: url)
        return c
    }

    func discoveredRelayConfiguration(_ url: String) -> RelayConfiguration {
        Self.relayConfiguration(url, authKey: discoveredAuthKey, metrics: metrics)
    }

    /// The key a discovered relay's AUTH is answered with: none unless `discover.auth` says so,
    /// since a relay list can name any relay.
    var discoveredAuthKey: SecretKey? { configuration.discover.auth ? authKey : nil }

    func reconcileJob(_ relay: Relay, authors: [String]? = nil, writable: Bool) -> ReconcileJob {
        var job = ReconcileJob(
            relay: relay, writable: writable, authors: authors ?? configuration.pubkeys, kinds: configuration.kinds,
            since: configuration.since, ledger: ledger, ingestor: ingestor, settings: configuration.reconcile,
            methods: reconcileMethods, deliveryWake: deliveryWake[relay.url], logger: logger)
        job.metrics = metrics
        return job
    }

    func deliveryService(_ relay: Relay) -> DeliveryService {
        var service = DeliveryService(relay: relay, ledger: ledger, counters: counters, wake: deliveryWake[relay.url]!, logger: logger)
        service.metrics = metrics
        return service
    }

    func reconcileService(_ relay: Relay, authors: [String]? = nil, writable: Bool, after gate: Gate?) -> ReconcileService {
        ReconcileService(
            job: reconcileJob(relay, authors: authors, writable: writable),
            interval: configuration.reconcile.interval, afterBackfill: gate, logger: logger)
    }

    func summaryJSON() -> String {
        let data = (try? JSONEncoder().encode(counters.snapshot)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension SyncConfiguration {
    /// What the agent asks relays for and accepts from them.
    public var filter: Filter {
        Filter(authors: pubkeys, kinds: kinds, since: since)
    }
}

/// The configuration a SIGHUP brought, handed from the signal task to `runDaemon`'s return.
private final class ReloadedConfiguration: Sendable {
    private let box = Mutex<SyncConfiguration?>(nil)
    func set(_ configuration: SyncConfiguration) { box.withLock { $0 = configuration } }
    var value: SyncConfiguration? { box.withLock { $0 } }
}
