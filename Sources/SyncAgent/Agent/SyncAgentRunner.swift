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

/// Builds the agent from a configuration and runs it, as a daemon
/// (`runDaemon`) or as a one-shot backfill (`runOnce`).
public final class SyncAgentRunner: Sendable {
    public let configuration: SyncConfiguration
    let logger: Logger
    /// The SQLite ledger or the shared PostgreSQL one (`sqlite` is nil then).
    let ledger: any AgentLedgerStore
    /// This agent's hold on a SQLite ledger: one agent per SQLite ledger.
    let ledgerLock: LedgerLock?
    let pool: RelayPool
    let relays: [String: Relay]
    let counters = AgentCounters()
    let deliveryWake: [String: WakeSignal]
    let archiveWake = WakeSignal()
    /// Set by every commit that recorded new events: the media worker looks for their blobs.
    let mediaWake = WakeSignal()
    let ingestor: EventIngestor
    let authKey: SecretKey?
    /// Inbox recipients' own keys (`inbox.keys`), answering AUTH where the inbox is read.
    let inboxKeys: [SecretKey]
    /// The scopes configured (the authors', the inbox, each filter).
    let scopes: [SyncScope]
    /// Configured relay URL → the scopes read on its connection.
    let scopesByRelay: [String: [SyncScope]]
    /// Inboxes read on connections of their own, one per recipient identity (see `init`).
    let identityReaders: [IdentityReader]

    /// A recipient's inbox on a configured relay, read on a connection authenticated as the recipient alone.
    struct IdentityReader: Sendable {
        let relay: Relay
        let scope: SyncScope
        let writable: Bool
    }
    /// Set when discovery is on.
    let discovery: (resolver: DiscoveryResolver, inbox: RelayListInbox, indexers: [Relay])?
    /// How long a one-shot run keeps retrying a relay that makes no progress.
    let onceGiveUp: Duration
    /// How long `--once` waits for a relay's first connection; a relay not connected by then
    /// fails the run with its connection error's one line (`RelayConnectionError.summary`).
    let onceConnectWait: Duration
    /// What each relay was found not to support when reconciling.
    let reconcileMethods = ReconcileMethods()
    public let metrics: AgentMetrics
    let serviceWatch = ServiceWatch()

    public init(
        configuration: SyncConfiguration, logger: Logger, onceGiveUp: Duration = .seconds(60),
        onceConnectWait: Duration = .seconds(15), discoveryAskTimeout: Duration = .seconds(20),
        metrics: AgentMetrics = AgentMetrics()
    ) async throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onceGiveUp = onceGiveUp
        self.onceConnectWait = onceConnectWait
        let key = try configuration.loadSecretKey()
        authKey = key
        let keysByRecipient = try configuration.loadInboxKeys().sorted { $0.key < $1.key }
        let inboxKeys = keysByRecipient.map(\.value)
        self.inboxKeys = inboxKeys
        let scopes = configuration.scopes
        self.scopes = scopes
        if var settings = configuration.postgresLedger {
            try Self.refuseWhatPostgresLacks(configuration)
            // A paused agent inside a transaction must not hold the others' locks past its leases.
            settings.idleInTransactionTimeout = max(.seconds(1), configuration.leasePeriod / 3)
            ledgerLock = nil
            let shared = try await PostgresLedger.open(settings, logger: logger)
            try await shared.registerScopeIndexes(ScopeIndex.definitions(for: configuration))
            ledger = shared
        } else {
            ledgerLock = try LedgerLock.acquire(ledgerPath: configuration.ledgerPath.path)
            let sqlite = try Ledger(path: configuration.ledgerPath.path)
            try sqlite.registerScopeIndexes(ScopeIndex.definitions(for: configuration))
            ledger = sqlite
        }
        pool = RelayPool(logger: logger)
        var relays: [String: Relay] = [:]
        var scopesByRelay: [String: [SyncScope]] = [:]
        var identityReaders: [IdentityReader] = []
        for entry in configuration.relays {
            let connections = RelayConnections(
                entry: entry, scopes: scopes, agentKey: key, inboxKeys: keysByRecipient.map { (pubkey: $0.key, key: $0.value) },
                pubkeys: configuration.pubkeys)
            var relayConfiguration = Self.relayConfiguration(entry.url, authKey: nil, metrics: metrics)
            relayConfiguration.authKeys = connections.keys
            if let roots = entry.trustRoots { relayConfiguration.trust(roots) }
            for (identity, recipientKey, scope) in connections.identities {
                var own = Self.relayConfiguration(entry.url, authKey: recipientKey, metrics: metrics)
                if let roots = entry.trustRoots { own.trust(roots) }
                own.identity = identity
                identityReaders.append(IdentityReader(relay: await pool.add(own), scope: scope, writable: entry.role.isWritable))
            }
            scopesByRelay[entry.url] = connections.scopes
            relays[entry.url] = await pool.add(relayConfiguration)
        }
        self.relays = relays
        self.scopesByRelay = scopesByRelay
        self.identityReaders = identityReaders
        let writable = configuration.writableRelays.map(\.url)
        deliveryWake = Dictionary(uniqueKeysWithValues: writable.map { ($0, WakeSignal()) })
        let inbox = configuration.discover.enabled ? RelayListInbox(authors: configuration.pubkeys) : nil
        ingestor = EventIngestor(
            ledger: ledger, writableRelays: writable, counters: counters, deliveryWake: deliveryWake,
            archiveWake: archiveWake, scopes: ScopeMatcher(configuration), logger: logger, relayLists: inbox,
            metrics: metrics, mediaWake: configuration.media == nil ? nil : mediaWake, now: { WallClock.unixNow() })
        if let inbox {
            var indexers: [Relay] = []
            for url in configuration.discover.indexers { indexers.append(await pool.add(RelayConfiguration(url: url))) }
            let readable = configuration.readableRelays.compactMap { relays[$0.url] }.filter { r in !indexers.contains { $0 === r } }
            var resolver = DiscoveryResolver(
                settings: configuration.discover, authors: configuration.pubkeys, sources: indexers + readable,
                configured: Set(configuration.relays.map(\.url)), hasKey: key != nil && configuration.discover.auth, ledger: ledger,
                ingestor: ingestor, information: InformationCache(ledger: ledger, logger: logger), logger: logger)
            if configuration.inbox.enabled { resolver.inboxKinds = configuration.inbox.kinds }
            resolver.askTimeout = discoveryAskTimeout
            discovery = (resolver, inbox, indexers)
        } else {
            discovery = nil
        }
        _ = try await ledger.ensureDeliveries(toWritableRelays: writable, now: WallClock.unixNow())
    }

    var archiveConfiguration: ArchiveConfiguration? {
        configuration.archive.map {
            var a = ArchiveConfiguration(directory: $0.directory)
            a.rotateBytes = $0.rotateBytes
            a.rotateAge = $0.rotateAge
            a.compressionLevel = $0.compressionLevel
            // A cluster's agents each name their segments, so folders merge without clashes.
            if ledger is PostgresLedger { a.agentID = AgentIdentity.current.id }
            return a
        }
    }

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
        for entry in configuration.writableRelays where sqlite != nil {
            services.append(.init(service: WatchedService("delivery to \(entry.url)", deliveryService(relays[entry.url]!), watch: serviceWatch)))
        }
        for entry in configuration.relays where sqlite != nil {
            let relay = relays[entry.url]!
            var backfilled: Gate?
            if entry.role.isReadable {
                let gate = Gate()
                backfilled = gate
                for scope in scopes(readFrom: entry) {
                    let live = LiveSyncService(
                        relay: relay, filter: scope.relayFilter, scope: scope.name, ingestor: ingestor, ledger: ledger, logger: logger)
                    let name = scope.name == .authors ? "live subscription on \(entry.url)" : "live \(scope.name) subscription on \(entry.url)"
                    services.append(.init(service: WatchedService(name, live, watch: serviceWatch), successTerminationBehavior: .ignore))
                }
                services.append(
                    .init(
                        service: BackfillService(job: backfillJob(relay, scopes: scopes(readFrom: entry)), logger: logger, done: gate),
                        successTerminationBehavior: .ignore))
            }
            if configuration.reconcile.enabled {
                // A backup-only relay is compared for every scope too: what it lost is pushed again.
                for scope in scopes(compared: entry) {
                    services.append(
                        .init(
                            service: reconcileService(relay, scope: scope, writable: entry.role.isWritable, after: backfilled),
                            successTerminationBehavior: .ignore))
                }
            }
        }
        for reader in identityReaders {
            let gate = Gate()
            let label = "live \(reader.scope.recordName) subscription on \(reader.relay.url)"
            let live = LiveSyncService(
                relay: reader.relay, filter: reader.scope.relayFilter, scope: reader.scope.name, identity: reader.scope.identity, ingestor: ingestor,
                ledger: ledger, logger: logger)
            services.append(.init(service: WatchedService(label, live, watch: serviceWatch), successTerminationBehavior: .ignore))
            services.append(
                .init(
                    service: BackfillService(job: backfillJob(reader.relay, scopes: [reader.scope]), logger: logger, done: gate),
                    successTerminationBehavior: .ignore))
            if configuration.reconcile.enabled {
                services.append(
                    .init(
                        service: reconcileService(reader.relay, scope: reader.scope, writable: reader.writable, after: gate),
                        successTerminationBehavior: .ignore))
            }
        }
        if let discovery {
            let factory = DiscoveryService.ReaderFactory { [self] relay, assignment in
                let gate = Gate()
                let scopes = discoveredScopes(assignment)
                return DiscoveryService.Readers(
                    live: scopes.map {
                        LiveSyncService(relay: relay, filter: $0.relayFilter, scope: $0.name, ingestor: ingestor, ledger: ledger, logger: logger)
                    },
                    backfill: BackfillService(job: backfillJob(relay, scopes: scopes), logger: logger, done: gate),
                    reconcile: configuration.reconcile.enabled ? scopes.map { reconcileService(relay, scope: $0, writable: false, after: gate) } : [])
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
            try? await ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 1, summaryJSON: summaryJSON())
            throw error
        }
        try await ledger.endRun(runID, at: WallClock.unixNow(), exitCode: 0, summaryJSON: summaryJSON())
        logger.info("agent stopped")
        return next.value
    }

    /// The scopes read on a configured relay's own connection (its `scopes`, else all; without the
    /// inboxes read on connections of their own).
    func scopes(readFrom entry: SyncConfiguration.RelayEntry) -> [SyncScope] {
        scopesByRelay[entry.url] ?? []
    }

    /// The scopes compared with a configured relay on its own connection: those read from it, and
    /// for a writable relay every scope (what it lost is pushed again), less the inboxes compared on
    /// connections of their own.
    func scopes(compared entry: SyncConfiguration.RelayEntry) -> [SyncScope] {
        guard entry.role.isWritable else { return scopes(readFrom: entry) }
        let apart = Set(identityReaders.filter { $0.relay.url == entry.url }.map(\.scope.name))
        let own = scopes(readFrom: entry)
        return scopes.compactMap { scope in
            own.first { $0.name == scope.name } ?? (apart.contains(scope.name) ? nil : scope)
        }
    }

    /// A relay's backfill of `scopes` (every configured scope when nil).
    func backfillJob(_ relay: Relay, scopes: [SyncScope]? = nil, ledger: (any AgentLedgerStore)? = nil) -> BackfillJob {
        var job = BackfillJob(relay: relay, scopes: scopes ?? self.scopes, ledger: ledger ?? self.ledger, ingestor: ingestor, logger: logger)
        job.catchUp = !configuration.reconcile.enabled
        return job
    }

    static func relayConfiguration(_ url: String, authKey: SecretKey?, metrics: AgentMetrics) -> RelayConfiguration {
        var c = RelayConfiguration(url: url, authKey: authKey)
        c.latencyObserver = metrics.latencyObserver(relay: url)
        return c
    }

    /// A discovered relay's connection: the agent's key only with `discover.auth`; the inbox
    /// recipients' keys when the inbox is backed up (a DM relay releases messages only to them).
    func discoveredRelayConfiguration(_ url: String) -> RelayConfiguration {
        var c = Self.relayConfiguration(url, authKey: discoveredAuthKey, metrics: metrics)
        c.authKeys += inboxKeys
        return c
    }

    /// The scopes a discovered relay is read for: the authors whose relay lists name it, and the
    /// inbox of the recipients whose DM or read relays it is.
    func discoveredScopes(_ assignment: DiscoveryPlan.Assignment) -> [SyncScope] {
        var out: [SyncScope] = []
        if !assignment.authors.isEmpty { out.append(scopes[0].narrowed(to: assignment.authors)) }
        if let inbox = assignment.inbox, let scope = scopes.first(where: { $0.name == .inbox }) {
            if let limited = scope.narrowed(to: inbox.recipients).limited(toKinds: Set(inbox.kinds)) { out.append(limited) }
        }
        return out
    }

    /// The key a discovered relay's AUTH is answered with: none unless `discover.auth` says so,
    /// since a relay list can name any relay.
    var discoveredAuthKey: SecretKey? { configuration.discover.auth ? authKey : nil }

    /// The agent's logger with the relay's URL (`relay.url`) on every line, for the services that
    /// work for that one relay: their statements then carry only their own data.
    func logger(for relay: Relay) -> Logger {
        logger.forRelay(relay.url)
    }

    func reconcileJob(_ relay: Relay, scope: SyncScope, writable: Bool, ledger: (any AgentLedgerStore)? = nil) -> ReconcileJob {
        var job = ReconcileJob(
            relay: relay, writable: writable, scope: scope, ledger: ledger ?? self.ledger, ingestor: ingestor, settings: configuration.reconcile,
            methods: reconcileMethods, deliveryWake: deliveryWake[relay.url], logger: logger(for: relay))
        job.metrics = metrics
        return job
    }

    func deliveryService(_ relay: Relay, ledger: (any AgentLedgerStore)? = nil) -> DeliveryService {
        var service = DeliveryService(
            relay: relay, ledger: ledger ?? self.ledger, counters: counters, wake: deliveryWake[relay.url]!, logger: logger(for: relay))
        service.metrics = metrics
        return service
    }

    func reconcileService(_ relay: Relay, scope: SyncScope, writable: Bool, after gate: Gate?, ledger: (any AgentLedgerStore)? = nil) -> ReconcileService {
        ReconcileService(
            job: reconcileJob(relay, scope: scope, writable: writable, ledger: ledger),
            interval: configuration.reconcile.interval, afterBackfill: gate, logger: logger(for: relay))
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
