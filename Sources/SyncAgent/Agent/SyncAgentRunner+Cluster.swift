import LedgerPostgres
import NostrCore
import RelayClient
import ServiceLifecycle

/// The resources a cluster of agents splits through leases.
enum ClusterResource {
    /// A readable relay's backfill, live subscriptions and reconciliation.
    static func read(_ url: RelayURL) -> String { "read:\(url)" }
    /// Delivery to a writable relay (and, for a relay only written to, its reconciliation).
    static func deliver(_ url: RelayURL) -> String { "deliver:\(url)" }
    /// Appending the ledger's events to the archive.
    static let archive = "archive"
    /// NIP-65 discovery: the relay lists and every relay they name.
    static let discover = "discover"
}

extension SyncAgentRunner {
    /// Each resource of the configuration and the work its lease covers, on a PostgreSQL ledger.
    /// The work's lease-protected writes carry the lease's generation (`FencedLedger`). A new
    /// holder of a relay's read lease runs its backfill from the cursors the last holder left
    /// and then reconciles it at once (reconciliation waits only for that backfill, which ends
    /// at once when it was complete), so what arrived while nobody held it is fetched.
    func clusterWork(_ shared: PostgresLedger) -> [String: LeaseKeeper.Work] {
        var work: [String: LeaseKeeper.Work] = [:]
        for target in configured {
            let relay = target.relay, entry = target.entry
            // An inbox read as a recipient on this relay goes with the relay's read lease (its
            // deliver lease for a relay only written to).
            let readers = identityReaders.filter { $0.relay.url == target.url }
            if entry.role.isReadable {
                work[ClusterResource.read(entry.url)] = { [self] lease in
                    let fenced = FencedLedger(base: shared, lease: lease)
                    let gate = Gate()
                    let scopes = target.scopes
                    var services: [any Service] = scopes.map {
                        LiveSyncService(relay: relay, filter: $0.relayFilter, scope: $0.name, ingestor: ingestor, ledger: fenced, logger: logger(for: relay))
                    }
                    services.append(BackfillService(job: backfillJob(relay, scopes: scopes, ledger: fenced), logger: logger, done: gate))
                    if configuration.reconcile.enabled {
                        for scope in self.scopes(compared: target) {
                            services.append(reconcileService(relay, scope: scope, writable: entry.role.isWritable, after: gate, ledger: fenced))
                        }
                    }
                    for reader in readers {
                        let (live, others) = identityServices(reader, ledger: fenced)
                        services += [live] + others
                    }
                    try await Self.runTogether(services)
                }
            }
            if entry.role.isWritable {
                work[ClusterResource.deliver(entry.url)] = { [self] lease in
                    let fenced = FencedLedger(base: shared, lease: lease)
                    var delivery = deliveryService(target, ledger: fenced)
                    delivery.idleWait = .seconds(1)
                    var services: [any Service] = [delivery]
                    // A relay only written to is compared under its delivery lease: what it lost is pushed again.
                    if configuration.reconcile.enabled, !entry.role.isReadable {
                        for scope in scopes(compared: target) {
                            services.append(reconcileService(relay, scope: scope, writable: true, after: nil, ledger: fenced))
                        }
                    }
                    if !entry.role.isReadable {
                        for reader in readers {
                            let (live, others) = identityServices(reader, ledger: fenced)
                            services += [live] + others
                        }
                    }
                    try await Self.runTogether(services)
                }
            }
        }
        if let archiveConfiguration {
            work[ClusterResource.archive] = { [self] lease in
                let fenced = FencedLedger(base: shared, lease: lease)
                try await ArchiveService(configuration: archiveConfiguration, ledger: fenced, counters: counters, wake: archiveWake, logger: logger).run()
            }
        }
        if discovery != nil {
            // One agent at a time reads the relay lists and the relays they name; another takes
            // over when it dies, from the cursors it left.
            work[ClusterResource.discover] = { [self] lease in
                if let service = discoveryService(ledger: FencedLedger(base: shared, lease: lease)) { try await service.run() }
            }
        }
        return work
    }

    /// Runs the services of one lease side by side until all have returned; the first failure
    /// cancels the others and ends the work (the keeper then gives the lease back).
    static func runTogether(_ services: [any Service]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            for try await _ in group {}
        }
    }
}
