import Archive
import Foundation
import Ledger
import Logging
import RelayClient

extension SyncAgentRunner {
    /// One-shot backfill: every readable relay's history, then every pending
    /// delivery, then the archive; a relay that cannot be reached or keeps
    /// failing makes the summary (and the exit code) say so.
    public func runOnce() async throws -> OnceSummary {
        let runID = try ledger.beginRun(mode: "once", at: WallClock.unixNow())
        let started = ContinuousClock.now
        let summary = try await withThrowingTaskGroup(of: Void.self) { group -> OnceSummary in
            group.addTask { try await self.pool.run() }
            defer { group.cancelAll() }
            let (discovered, discoveryFailures) = try await discoverOnce()
            var readers = configuration.readableRelays.map { (relay: relays[$0.url]!, authors: configuration.pubkeys) }
            for url in discovered.order { readers.append((relay: await pool.add(discoveredRelayConfiguration(url)), authors: discovered.readers[url]!)) }
            // Deliveries run beside the backfill and the reconciliation, as in the daemon: a mirror
            // takes about as long as the slower of reading and writing, not their sum.
            let producing = Gate()
            async let delivered = deliverAll(until: producing)
            var failures: [String: String]
            var reconciliations: [String: ReconciliationRecord] = [:]
            do {
                let backfill = try await backfillAll(readers)
                failures = backfill.failures.merging(discoveryFailures) { a, _ in a }
                if configuration.reconcile.enabled {
                    reconciliations = try await reconcileAll(readers: readers, skipping: Set(failures.keys), readInFull: backfill.readInFull)
                    for (url, record) in reconciliations {
                        if let error = record.error { failures[url] = failures[url] ?? "reconciliation failed: \(error)" }
                    }
                }
            } catch {
                producing.open()
                _ = try? await delivered
                throw error
            }
            producing.open()
            // A relay list often names dead relays: those are reported, not counted as a failed backup.
            var discoveredFailures: [String: String] = [:]
            for url in discovered.order { discoveredFailures[url] = failures.removeValue(forKey: url) }
            failures.merge(try await delivered) { a, b in "\(a); \(b)" }
            if let archiveConfiguration {
                try ArchiveService(configuration: archiveConfiguration, ledger: ledger, counters: counters, wake: archiveWake, logger: logger).drainAndClose()
            }
            let media = try await runMediaOnce()
            var invalid: [String: Int] = [:]
            for relay in await pool.relays { invalid[relay.url] = await relay.health().invalid }
            await HealthRecorder(pool: pool, ledger: ledger, logger: logger).record()
            var pending: [String: Int] = [:]
            for entry in configuration.writableRelays { pending[entry.url] = try ledger.pendingCount(relay: entry.url) }
            return OnceSummary(
                counters: counters.snapshot, failures: failures, invalid: invalid, pending: pending,
                seconds: (ContinuousClock.now - started).seconds, discovered: discovered.readers,
                discoveredFailures: discoveredFailures, discoverySkipped: discovered.skipped,
                reconciliations: reconciliations, media: media)
        }
        try ledger.endRun(runID, at: WallClock.unixNow(), exitCode: summary.succeeded ? 0 : 2, summaryJSON: summaryJSON())
        return summary
    }

    /// How long `--once` waits for a relay's first connection; a relay not connected by then
    /// fails the run with its connection error's one line (`RelayConnectionError.summary`).
    static var onceConnectWait: Duration { .seconds(15) }

    /// Compares every configured relay, and every discovered reader for its authors, with the
    /// ledger, all at once; relays that already failed are not tried again.
    func reconcileAll(
        readers: [(relay: Relay, authors: [String])], skipping failed: Set<String>, readInFull: Set<String> = [],
        repair: Bool = true
    ) async throws -> [String: ReconciliationRecord] {
        var jobs: [ReconcileJob] = []
        for entry in configuration.relays where !failed.contains(entry.url) {
            var job = reconcileJob(relays[entry.url]!, writable: entry.role.isWritable)
            job.repair = repair
            job.readInFull = readInFull.contains(entry.url)
            jobs.append(job)
        }
        for (relay, authors) in readers where relays[relay.url] == nil && !failed.contains(relay.url) {
            var job = reconcileJob(relay, authors: authors, writable: false)
            job.repair = repair
            job.readInFull = readInFull.contains(relay.url)
            jobs.append(job)
        }
        return try await withThrowingTaskGroup(of: ReconciliationRecord.self) { group in
            for job in jobs { group.addTask { try await job.run() } }
            var out: [String: ReconciliationRecord] = [:]
            for try await record in group { out[record.relay] = record }
            return out
        }
    }

    /// The discovered relays to read, from relay lists refreshed when due. When
    /// no source answered, the indexers count as failed: the run could not
    /// learn where the authors publish.
    private func discoverOnce() async throws -> (DiscoveryPlan, [String: String]) {
        guard let discovery else { return (DiscoveryPlan(), [:]) }
        var failures: [String: String] = [:]
        if try await discovery.resolver.refresh(force: false).unanswered {
            for indexer in discovery.indexers { failures[indexer.url] = "no answer to the relay-list query" }
            if discovery.indexers.isEmpty { failures["discover"] = "no configured relay answered the relay-list query" }
        }
        return (try await discovery.resolver.plan(health: try ledger.recordedRelayFigures().health), failures)
    }

    /// Backfills every reader at once: which failed and why, and which were read in full.
    private func backfillAll(_ readers: [(relay: Relay, authors: [String])]) async throws -> (failures: [String: String], readInFull: Set<String>) {
        try await withThrowingTaskGroup(of: (String, String?, Bool).self) { group in
            for (relay, authors) in readers {
                let url = relay.url
                group.addTask {
                    guard await relay.waitUntilConnected(timeout: Self.onceConnectWait, orPermanentFailure: true) else {
                        let why = await relay.connectionFailure(waited: Self.onceConnectWait)
                        try self.ledger.noteRelayError(url, why, at: WallClock.unixNow())
                        return (url, why, false)
                    }
                    do {
                        let result = try await self.backfillJob(relay, authors: authors).run()
                        return (url, nil, result.readWholeHistory)
                    } catch {
                        try self.ledger.noteRelayError(url, "\(error)", at: WallClock.unixNow())
                        return (url, "backfill failed: \(error)", false)
                    }
                }
            }
            var failures: [String: String] = [:]
            var readInFull: Set<String> = []
            for try await (url, failure, whole) in group {
                if let failure { failures[url] = failure }
                if whole { readInFull.insert(url) }
            }
            return (failures, readInFull)
        }
    }

    /// Delivers to every writable relay until `producing` opens and nothing is pending.
    func deliverAll(until producing: Gate) async throws -> [String: String] {
        try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for entry in configuration.writableRelays {
                let relay = relays[entry.url]!
                group.addTask { (entry.url, try await self.deliverUntilDrained(relay, producing: producing)) }
            }
            var failures: [String: String] = [:]
            for try await (url, failure) in group { if let failure { failures[url] = failure } }
            return failures
        }
    }

    /// Delivers to `relay` whatever becomes pending until `producing` opens and nothing is
    /// pending, or until it makes no progress for `onceGiveUp`; returns why it stopped short.
    /// The relay is connected to only once something is pending.
    private func deliverUntilDrained(_ relay: Relay, producing: Gate) async throws -> String? {
        let url = relay.url
        let wake = deliveryWake[url]!
        var service = deliveryService(relay)
        service.policy = DeliveryPolicy(baseDelay: 1, maxDelay: 8)
        var connected = false
        var lastProgress = ContinuousClock.now
        while true {
            // Read the gate before the ledger: once it is open, nothing new becomes pending.
            let finished = producing.isOpen
            guard try ledger.hasPending(relay: url) else {
                if finished { return nil }
                lastProgress = .now
                await wake.wait(timeout: .milliseconds(250))
                continue
            }
            if !connected {
                guard await relay.waitUntilConnected(timeout: Self.onceConnectWait, orPermanentFailure: true) else {
                    let why = await relay.connectionFailure(waited: Self.onceConnectWait)
                    try ledger.noteRelayError(url, why, at: WallClock.unixNow())
                    return why
                }
                connected = true
            }
            let round = try await service.deliverDue()
            if round.settled > 0 { lastProgress = .now }
            if ContinuousClock.now - lastProgress > onceGiveUp {
                let pending = try ledger.pendingCount(relay: url)
                try ledger.noteRelayError(url, "\(pending) deliveries still pending", at: WallClock.unixNow())
                return "\(pending) deliveries still pending after \(onceGiveUp) without progress"
            }
            if round.attempted == 0 { await wake.wait(timeout: .milliseconds(250)) }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
