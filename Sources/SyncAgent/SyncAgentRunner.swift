import Archive
import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle
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
    /// How long a one-shot run keeps retrying a relay that makes no progress.
    let onceGiveUp: Duration

    public init(configuration: SyncConfiguration, logger: Logger, onceGiveUp: Duration = .seconds(60)) async throws {
        self.configuration = configuration
        self.logger = logger
        self.onceGiveUp = onceGiveUp
        let key = try configuration.loadSecretKey()
        ledger = try Ledger(path: configuration.ledgerPath.path)
        pool = RelayPool(logger: logger)
        var relays: [String: Relay] = [:]
        for entry in configuration.relays {
            var rc = RelayConfiguration(url: entry.url, authKey: entry.auth ? key : nil)
            rc.authKey = entry.auth ? key : nil
            relays[entry.url] = await pool.add(rc)
        }
        self.relays = relays
        let writable = configuration.writableRelays.map(\.url)
        deliveryWake = Dictionary(uniqueKeysWithValues: writable.map { ($0, WakeSignal()) })
        ingestor = EventIngestor(ledger: ledger, writableRelays: writable, counters: counters, deliveryWake: deliveryWake,
                                 archiveWake: archiveWake, filter: configuration.filter, logger: logger, now: { Clock.unixNow() })
        _ = try ledger.ensureDeliveries(toWritableRelays: writable, now: Clock.unixNow())
    }

    var archiveConfiguration: ArchiveConfiguration? {
        configuration.archive.map {
            var a = ArchiveConfiguration(directory: $0.directory)
            a.rotateBytes = $0.rotateBytes
            a.rotateAge = .seconds($0.rotateSeconds)
            a.compressionLevel = $0.compressionLevel
            return a
        }
    }

    /// Runs until SIGTERM or SIGINT, then drains and exits.
    public func runDaemon() async throws {
        let runID = try ledger.beginRun(mode: "daemon", at: Clock.unixNow())
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: pool)]
        if let archiveConfiguration {
            services.append(.init(service: ArchiveService(configuration: archiveConfiguration, ledger: ledger, counters: counters, wake: archiveWake, logger: logger)))
        }
        for entry in configuration.writableRelays {
            services.append(.init(service: DeliveryService(relay: relays[entry.url]!, ledger: ledger, counters: counters, wake: deliveryWake[entry.url]!, logger: logger)))
        }
        for entry in configuration.readableRelays {
            let relay = relays[entry.url]!
            services.append(.init(service: LiveSyncService(relay: relay, filter: configuration.filter, ingestor: ingestor, logger: logger),
                                  successTerminationBehavior: .ignore))
            services.append(.init(service: BackfillService(job: backfillJob(relay), logger: logger), successTerminationBehavior: .ignore))
        }
        services.append(.init(service: ProgressReporter(counters: counters, logger: logger, interval: .seconds(30))))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("agent started", metadata: ["relays": "\(relays.count)", "pubkeys": "\(configuration.pubkeys.count)"])
        do {
            try await group.run()
        } catch {
            try? ledger.endRun(runID, at: Clock.unixNow(), exitCode: 1, summaryJSON: summaryJSON())
            throw error
        }
        try ledger.endRun(runID, at: Clock.unixNow(), exitCode: 0, summaryJSON: summaryJSON())
        logger.info("agent stopped")
    }

    func backfillJob(_ relay: Relay) -> BackfillJob {
        BackfillJob(relay: relay, authors: configuration.pubkeys, kinds: configuration.kinds, since: configuration.since,
                    ledger: ledger, ingestor: ingestor, logger: logger)
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
