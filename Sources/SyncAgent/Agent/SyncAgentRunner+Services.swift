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

/// The services and jobs the modes run, built the same way for the daemon, the one-shot run, the
/// audit and the cluster's leased work.
extension SyncAgentRunner {
    /// The scopes compared with a configured relay on its own connection: those read from it, and
    /// for a writable relay every scope (what it lost is pushed again), less the inboxes compared on
    /// connections of their own.
    func scopes(compared target: ConfiguredRelay) -> [SyncScope] {
        guard target.role.isWritable else { return target.scopes }
        let apart = Set(identityReaders.filter { $0.relay.url == target.url }.map(\.scope.name))
        let own = target.scopes
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

    static func relayConfiguration(_ url: RelayURL, authKey: SecretKey?, metrics: AgentMetrics) -> RelayConfiguration {
        var c = RelayConfiguration(url: url, authKey: authKey)
        c.latencyObserver = metrics.latencyObserver(relay: url)
        return c
    }

    /// A discovered relay's connection: the agent's key only with `discover.auth`; the inbox
    /// recipients' keys when the inbox is backed up (a DM relay releases messages only to them).
    func discoveredRelayConfiguration(_ url: RelayURL) -> RelayConfiguration {
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

    func deliveryService(_ target: ConfiguredRelay, ledger: (any AgentLedgerStore)? = nil) -> DeliveryService {
        var service = DeliveryService(
            relay: target.relay, ledger: ledger ?? self.ledger, counters: counters, wake: target.deliveryWake, logger: logger(for: target.relay))
        service.metrics = metrics
        return service
    }

    func reconcileService(
        _ relay: Relay, scope: SyncScope, writable: Bool, after gate: Gate?, ledger: (any AgentLedgerStore)? = nil
    ) -> ReconcileService<ContinuousClock> {
        ReconcileService(
            job: reconcileJob(relay, scope: scope, writable: writable, ledger: ledger),
            interval: configuration.reconcile.interval, afterBackfill: gate, logger: logger(for: relay), clock: ContinuousClock())
    }

    /// An inbox read as one recipient on a configured relay: its live subscription, and its
    /// backfill and reconciliation.
    func identityServices(_ reader: IdentityReader, ledger: any AgentLedgerStore) -> (live: LiveSyncService, others: [any Service]) {
        let gate = Gate()
        let live = LiveSyncService(
            relay: reader.relay, filter: reader.scope.relayFilter, scope: reader.scope.name, identity: reader.scope.identity, ingestor: ingestor,
            ledger: ledger, logger: logger)
        var others: [any Service] = [BackfillService(job: backfillJob(reader.relay, scopes: [reader.scope], ledger: ledger), logger: logger, done: gate)]
        if configuration.reconcile.enabled {
            others.append(reconcileService(reader.relay, scope: reader.scope, writable: reader.writable, after: gate, ledger: ledger))
        }
        return (live, others)
    }

    /// NIP-65 discovery and the readers of the relays it finds, recording through `ledger`; nil
    /// when discovery is off.
    func discoveryService(ledger: any AgentLedgerStore) -> DiscoveryService? {
        guard let discovery else { return nil }
        let factory = DiscoveryService.ReaderFactory { [self] relay, assignment in
            let gate = Gate()
            let scopes = discoveredScopes(assignment)
            return DiscoveryService.Readers(
                live: scopes.map {
                    LiveSyncService(relay: relay, filter: $0.relayFilter, scope: $0.name, ingestor: ingestor, ledger: ledger, logger: logger)
                },
                backfill: BackfillService(job: backfillJob(relay, scopes: scopes, ledger: ledger), logger: logger, done: gate),
                reconcile: configuration.reconcile.enabled
                    ? scopes.map { reconcileService(relay, scope: $0, writable: false, after: gate, ledger: ledger) } : [])
        }
        return DiscoveryService(
            resolver: discovery.resolver, pool: pool, inbox: discovery.inbox, indexers: discovery.indexers,
            configure: { [self] in discoveredRelayConfiguration($0) }, readers: factory, logger: logger)
    }
}
