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
    /// The configured relays, in the configuration's order.
    let configured: [ConfiguredRelay]
    let counters = AgentCounters()
    let deliveryWake: [RelayURL: WakeSignal]
    /// On SQLite: what each record commit made due, for the daemon's delivery loops.
    let deliveryHandoffs: DeliveryHandoffs?
    let archiveWake = WakeSignal()
    /// Set by every commit that recorded new events: the media worker looks for their blobs.
    let mediaWake = WakeSignal()
    let ingestor: EventIngestor
    let authKey: SecretKey?
    /// Inbox recipients' own keys (`inbox.keys`), answering AUTH where the inbox is read.
    let inboxKeys: [SecretKey]
    /// The scopes configured (the authors', the inbox, each filter).
    let scopes: [SyncScope]
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
        var configured: [ConfiguredRelay] = []
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
            configured.append(
                ConfiguredRelay(entry: entry, relay: await pool.add(relayConfiguration), scopes: connections.scopes, deliveryWake: WakeSignal()))
        }
        self.configured = configured
        self.identityReaders = identityReaders
        let writable = configuration.writableRelays.map(\.url)
        deliveryWake = Dictionary(configured.filter(\.role.isWritable).map { ($0.url, $0.deliveryWake) }, uniquingKeysWith: { a, _ in a })
        if let sqlite = ledger as? Ledger {
            let handoffs = DeliveryHandoffs(
                byRelay: Dictionary(
                    configured.filter(\.role.isWritable).map { ($0.url, DeliveryHandoff(wake: $0.deliveryWake)) }, uniquingKeysWith: { a, _ in a }))
            // The ledger wakes the delivery loops itself, with what each commit made due.
            sqlite.handOffFreshDeliveries { handoffs.take($0) }
            deliveryHandoffs = handoffs
        } else {
            deliveryHandoffs = nil
        }
        let inbox = configuration.discover.enabled ? RelayListInbox(authors: configuration.pubkeys) : nil
        ingestor = EventIngestor(
            ledger: ledger, writableRelays: writable, counters: counters, deliveryWake: deliveryHandoffs == nil ? deliveryWake : [:],
            archiveWake: archiveWake, scopes: ScopeMatcher(configuration), logger: logger, relayLists: inbox,
            metrics: metrics, mediaWake: configuration.media == nil ? nil : mediaWake, now: { WallClock.unixNow() })
        if let inbox {
            var indexers: [Relay] = []
            for url in configuration.discover.indexers { indexers.append(await pool.add(RelayConfiguration(url: url))) }
            let readable = configured.filter(\.role.isReadable).map(\.relay).filter { r in !indexers.contains { $0 === r } }
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
