import Archive
import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient

extension SyncAgentRunner {
    /// One-shot backfill: every readable relay's history, then every pending
    /// delivery, then the archive; a relay that cannot be reached or keeps
    /// failing makes the summary (and the exit code) say so.
    public func runOnce() async throws -> OnceSummary {
        let runID = try await ledger.beginRun(mode: "once", at: WallClock.unixNow())
        let started = ContinuousClock.now
        let summary = try await withThrowingTaskGroup(of: Void.self) { group -> OnceSummary in
            group.addTask { try await self.pool.run() }
            defer { group.cancelAll() }
            let (discovered, discoveryFailures, discoveryFailure) = try await discoverOnce()
            var readers = configured.filter(\.role.isReadable).map { (relay: $0.relay, scopes: $0.scopes) }
            readers += identityReaders.map { (relay: $0.relay, scopes: [$0.scope]) }
            for url in discovered.everyRelay {
                readers.append((relay: await pool.add(discoveredRelayConfiguration(url)), scopes: discoveredScopes(discovered.assignment(url))))
            }
            // Deliveries run beside the backfill and the reconciliation, as in the daemon: a mirror
            // takes about as long as the slower of reading and writing, not their sum.
            let producing = Gate()
            async let delivered = deliverAll(until: producing)
            var failures: [RelayURL: String]
            var reconciliations: [ReconciliationRecord] = []
            var refused: [RelayURL: [String: String]] = [:]
            do {
                let backfill = try await backfillAll(readers)
                failures = backfill.failures.merging(discoveryFailures) { a, _ in a }
                refused = backfill.refused
                if configuration.reconcile.enabled {
                    reconciliations = try await reconcileAll(readers: readers, skipping: Set(failures.keys), readInFull: backfill.readInFull)
                    for record in reconciliations {
                        guard let error = record.error, refused[record.relay]?[record.scope] == nil else { continue }
                        let scope = record.scope == ScopeName.authors.description ? "" : " (\(record.scope))"
                        failures[record.relay] = failures[record.relay] ?? "reconciliation\(scope) failed: \(error)"
                    }
                }
            } catch {
                finishProducing(producing)
                _ = try? await delivered
                throw error
            }
            finishProducing(producing)
            // A relay list often names dead relays: those are reported, not counted as a failed backup.
            var discoveredFailures: [RelayURL: String] = [:]
            for url in discovered.everyRelay { discoveredFailures[url] = failures.removeValue(forKey: url) }
            // A scope a relay would not serve is not backed up: the run must not say complete.
            for (url, scopes) in refused where failures[url] == nil {
                failures[url] = scopes.sorted { $0.key < $1.key }.map { "\($0.key) not read: \($0.value)" }.joined(separator: "; ")
            }
            failures.merge(try await delivered) { a, b in "\(a); \(b)" }
            if let archiveConfiguration {
                try await ArchiveService(configuration: archiveConfiguration, ledger: ledger, counters: counters, wake: archiveWake, logger: logger)
                    .drainAndClose()
            }
            let media = try await runMediaOnce()
            var invalid: [RelayURL: Int] = [:]
            for relay in await pool.relays { invalid[relay.url] = await relay.health().invalid }
            await HealthRecorder(pool: pool, ledger: ledger, logger: logger).record()
            var pending: [RelayURL: Int] = [:]
            for entry in configuration.writableRelays { pending[entry.url] = try await ledger.pendingCount(relay: entry.url) }
            // The summary's maps are keyed by the URLs' text: JSON object keys are strings, and typed
            // keys would go through the reports' snake_case key conversion.
            return OnceSummary(
                counters: counters.snapshot, failures: FailedPart.failures(relays: failures, discovery: discoveryFailure), invalid: invalid.byText,
                pending: pending.byText, seconds: (ContinuousClock.now - started).seconds, discovered: discovered.readers.byText,
                discoveredFailures: discoveredFailures.byText, discoverySkipped: discovered.skipped,
                reconciliations: Dictionary(
                    reconciliations.filter { $0.scope == ScopeName.authors.description }.map { ($0.relay.normalized, $0) }, uniquingKeysWith: { a, _ in a }),
                scopeReconciliations: reconciliations.filter { $0.scope != ScopeName.authors.description },
                scopeEvents: try await scopeCounts(), refusedScopes: refused.byText, media: media)
        }
        try await ledger.endRun(runID, at: WallClock.unixNow(), exitCode: summary.succeeded ? 0 : 2, summaryJSON: summaryJSON())
        return summary
    }

    /// Compares every configured relay in every scope, and every discovered reader in its
    /// scopes, with the ledger, all at once; relays that already failed are not tried again.
    func reconcileAll(
        readers: [(relay: Relay, scopes: [SyncScope])], skipping failed: Set<RelayURL>, readInFull: Set<RelayScope> = [],
        repair: Bool = true
    ) async throws -> [ReconciliationRecord] {
        var jobs: [ReconcileJob] = []
        func add(_ relay: Relay, _ scope: SyncScope, writable: Bool) {
            var job = reconcileJob(relay, scope: scope, writable: writable)
            job.repair = repair
            job.readInFull = readInFull.contains(RelayScope(url: relay.url, scope: scope.name))
            jobs.append(job)
        }
        for target in configured where !failed.contains(target.url) {
            for scope in scopes(compared: target) { add(target.relay, scope, writable: target.role.isWritable) }
        }
        for reader in identityReaders where !failed.contains(reader.relay.url) { add(reader.relay, reader.scope, writable: reader.writable) }
        for (relay, scopes) in readers where !configured.contains(where: { $0.url == relay.url }) && !failed.contains(relay.url) {
            for scope in scopes { add(relay, scope, writable: false) }
        }
        // An authors scope compared with several relays has its windows read once for all of them
        // (SQLite ledger); compared with one, nothing is kept.
        var shares: [(scope: SyncScope, windows: ReconcileWindowShare)] = []
        if let sqlite = ledger as? Ledger {
            for i in jobs.indices {
                let scope = jobs[i].scope
                guard case let .authors(authors, kinds) = scope.selection, jobs.lazy.filter({ $0.scope == scope }).count > 1 else { continue }
                if let share = shares.first(where: { $0.scope == scope }) {
                    jobs[i].windows = share.windows
                } else {
                    let windows = ReconcileWindowShare(ledger: sqlite, scope: ReconcileScope(authors: authors, kinds: kinds, since: scope.since))
                    shares.append((scope, windows))
                    jobs[i].windows = windows
                }
            }
        }
        // Relays that are read go first: what they hold that the ledger lacks (a NIP-09 deletion,
        // a NIP-62 request to vanish) must be known before anything is pushed to the backups.
        let readable = Set(configuration.readableRelays.map(\.url) + readers.map(\.relay.url))
        var out: [ReconciliationRecord] = []
        for phase in [jobs.filter { readable.contains($0.relay.url) }, jobs.filter { !readable.contains($0.relay.url) }] {
            out += try await withThrowingTaskGroup(of: ReconciliationRecord.self) { group in
                for job in phase { group.addTask { try await job.run() } }
                var records: [ReconciliationRecord] = []
                for try await record in group { records.append(record) }
                return records
            }
        }
        for (scope, windows) in shares where windows.reused > 0 {
            logger.debug("reconciliation windows read once for several relays", metadata: ["scope": "\(scope.name)", "reused": "\(windows.reused)"])
        }
        return out.sorted { ($0.relay, $0.scope) < ($1.relay, $1.scope) }
    }

    /// The ledger's events per configured scope.
    func scopeCounts() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for scope in scopes { out[scope.name.description] = try await scope.storeCount(ledger) }
        return out
    }

    /// The discovered relays to read, from relay lists refreshed when due. When
    /// no source answered, the indexers count as failed: the run could not
    /// learn where the authors publish.
    private func discoverOnce() async throws -> (plan: DiscoveryPlan, indexers: [RelayURL: String], discovery: String?) {
        guard let discovery else { return (DiscoveryPlan(), [:], nil) }
        var failures: [RelayURL: String] = [:]
        var whole: String?
        if try await discovery.resolver.refresh(force: false).unanswered {
            for indexer in discovery.indexers { failures[indexer.url] = "no answer to the relay-list query" }
            if discovery.indexers.isEmpty { whole = "no configured relay answered the relay-list query" }
        }
        return (try await discovery.resolver.plan(health: try await ledger.recordedRelayFigures().health), failures, whole)
    }

    /// Backfills every reader at once: which failed and why, which scopes were read in full, and
    /// which scopes relays would not serve (url → scope → why).
    private func backfillAll(_ readers: [(relay: Relay, scopes: [SyncScope])]) async throws -> (
        failures: [RelayURL: String], readInFull: Set<RelayScope>, refused: [RelayURL: [String: String]]
    ) {
        try await withThrowingTaskGroup(of: (RelayURL, String?, BackfillJob.Result?).self) { group in
            for (relay, scopes) in readers {
                let url = relay.url
                group.addTask {
                    guard await relay.waitUntilConnected(timeout: self.onceConnectWait, orPermanentFailure: true) else {
                        let why = await relay.connectionFailure(waited: self.onceConnectWait)
                        try await self.ledger.noteRelayError(url, why, at: WallClock.unixNow())
                        return (url, why, nil)
                    }
                    do {
                        return (url, nil, try await self.backfillJob(relay, scopes: scopes).run())
                    } catch {
                        try await self.ledger.noteRelayError(url, "\(error)", at: WallClock.unixNow())
                        return (url, "backfill failed: \(error)", nil)
                    }
                }
            }
            var failures: [RelayURL: String] = [:]
            var readInFull: Set<RelayScope> = []
            var refused: [RelayURL: [String: String]] = [:]
            for try await (url, failure, result) in group {
                if let failure { failures[url] = failure }
                for scope in result?.readWholeHistory ?? [] { readInFull.insert(RelayScope(url: url, scope: scope)) }
                for (scope, why) in result?.refused ?? [:] { refused[url, default: [:]][scope] = why }
            }
            return (failures, readInFull, refused)
        }
    }

    /// Nothing new becomes pending from now on: the delivery loops waiting for more learn it at once.
    private func finishProducing(_ producing: Gate) {
        producing.open()
        for wake in deliveryWake.values { wake.signal() }
    }

    /// Delivers to every writable relay until `producing` opens and nothing is pending.
    func deliverAll(until producing: Gate) async throws -> [RelayURL: String] {
        try await withThrowingTaskGroup(of: (RelayURL, String?).self) { group in
            for target in configured where target.role.isWritable {
                group.addTask { (target.url, try await self.deliverUntilDrained(target, producing: producing)) }
            }
            var failures: [RelayURL: String] = [:]
            for try await (url, failure) in group { if let failure { failures[url] = failure } }
            return failures
        }
    }

    /// Delivers to `relay` whatever becomes pending until `producing` opens and nothing is
    /// pending, or until it makes no progress for `onceGiveUp`; returns why it stopped short.
    /// The relay is connected to only once something is pending.
    private func deliverUntilDrained(_ target: ConfiguredRelay, producing: Gate) async throws -> String? {
        let relay = target.relay, url = target.url, wake = target.deliveryWake
        var service = deliveryService(target)
        service.policy = DeliveryPolicy(baseDelay: 1, maxDelay: 8)
        var connected = false
        var lastProgress = ContinuousClock.now
        while true {
            // Read the gate before the ledger: once it is open, nothing new becomes pending.
            let finished = producing.isOpen
            guard try await ledger.hasPending(relay: url) else {
                if finished { return nil }
                lastProgress = .now
                // Woken by the next event recorded, or by `finishProducing`.
                await wake.wait(timeout: nil)
                continue
            }
            if !connected {
                guard await relay.waitUntilConnected(timeout: onceConnectWait, orPermanentFailure: true) else {
                    let why = await relay.connectionFailure(waited: onceConnectWait)
                    try await ledger.noteRelayError(url, why, at: WallClock.unixNow())
                    return why
                }
                connected = true
            }
            let round = try await service.deliverDue()
            if round.settled > 0 { lastProgress = .now }
            if ContinuousClock.now - lastProgress > onceGiveUp {
                let pending = try await ledger.pendingCount(relay: url)
                try await ledger.noteRelayError(url, "\(pending) deliveries still pending", at: WallClock.unixNow())
                return "\(pending) deliveries still pending after \(onceGiveUp) without progress"
            }
            if round.attempted == 0 {
                // Pending, none due: sleep until the first retry falls due, unless woken sooner.
                let due = try await ledger.nextDeliveryDue(relay: url)
                await wake.wait(timeout: RetrySchedule(next: due).wait(now: WallClock.unixNow()) ?? .seconds(1))
            }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Dictionary where Key == RelayURL {
    /// Keyed by each URL's normalized text, as reports' JSON objects are.
    var byText: [String: Value] { [String: Value](uniqueKeysWithValues: map { ($0.key.normalized, $0.value) }) }
}
