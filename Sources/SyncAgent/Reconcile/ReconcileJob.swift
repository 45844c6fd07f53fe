import Ledger
import Logging
import NostrCore
import RelayClient
import Synchronization

/// Compares one relay's set of events with the ledger's, window by window, and repairs both
/// sides: what only the relay has is fetched by id and ingested like any event (so it is mirrored
/// onward and archived); what only the ledger has is delivered again when the relay is writable.
/// Dates decide nothing here: every window is compared as a set, the future included.
struct ReconcileJob: Sendable {
    let relay: Relay
    let writable: Bool
    /// What is compared: the authors' own events, the inbox, or a filter's.
    let scope: SyncScope
    let ledger: any AgentLedgerStore
    let ingestor: EventIngestor
    let settings: SyncConfiguration.ReconcileSettings
    let methods: ReconcileMethods
    let deliveryWake: WakeSignal?
    let logger: Logger
    var metrics: AgentMetrics?
    /// False for `audit` without `--repair`: compare and record, change nothing.
    var repair = true
    /// The relay's whole history was just read by this run's backfill: where only REQ could
    /// compare, reading it all again would find nothing new, so that comparison is skipped.
    var readInFull = false
    /// The scope's windows as another relay of this run read them, when the run shares them.
    var windows: ReconcileWindowShare?
    /// Ids asked for per REQ when fetching what the ledger lacks (LocalRelay answers at most 500).
    static let idsPerRequest = 250
    /// Splits allowed per run when relays refuse a window as too large.
    static let maxSplits = 16
    /// How long each NIP-77 answer may take (`NegentropyExchange.roundTimeout`).
    var negentropyRoundTimeout: Duration = .seconds(30)
    /// How long a replaced connection may take to open again.
    static let reconnectWait: Duration = .seconds(15)

    private struct Progress {
        var record: ReconciliationRecord
        var negentropy: Bool
        var count: Bool
        var splits = 0
        var usedNegentropy = false
        var usedCount = false
        var usedRequests = false
        var skippedAsRead = false
        /// The connection was replaced once after a session went silent; a second loss ends the run.
        var replacedConnection = false
    }

    func run() async throws -> ReconciliationRecord {
        let url = relay.url
        let started = WallClock.unixNow()
        var progress = Progress(
            record: ReconciliationRecord(
                relay: url, startedAt: started, finishedAt: started, method: .req, windows: 0, ledgerEvents: 0,
                relayEvents: 0, missingOnRelay: 0, missingInLedger: 0, fetched: 0, requeued: 0,
                lostAfterDelivery: 0, messages: 0, bytes: 0, error: nil),
            negentropy: settings.negentropy && methods.mayTry(.negentropy, on: url),
            count: methods.mayTry(.count, on: url))
        do {
            // As `run --once` waits: a failure that waiting cannot change (DNS, certificate) ends it at once.
            guard await relay.waitUntilConnected(timeout: .seconds(15), orPermanentFailure: true) else {
                throw ReconcileError(relay: url, .notConnected(await relay.connectionFailure(waited: .seconds(15))))
            }
            // A relay whose NIP-11 document lists its NIPs without 77 (or 45) is not asked: waiting
            // out a silent relay costs seconds per run. One without a document is asked.
            if let nips = await relay.information()?.supportedNIPs, !nips.isEmpty {
                progress.negentropy = progress.negentropy && nips.contains(77)
                progress.count = progress.count && nips.contains(45)
            }
            var lower = scope.since ?? 0
            while true {
                try Task.checkCancellation()
                let (items, upper) =
                    if let windows {
                        try windows.window(from: lower, maxItems: settings.windowItems)
                    } else {
                        try await scope.storeItems(ledger, from: lower, maxItems: settings.windowItems)
                    }
                progress.record.ledgerEvents += items.count
                try await compare(TimeWindow(lower: lower, upper: upper), items: items, progress: &progress)
                guard let upper else { break }
                lower = upper + 1
            }
        } catch {
            progress.record.relayEvents = nil
            progress.record.error = "\(error)"
        }
        var record = progress.record
        record.scope = scope.recordName
        record.method =
            switch (progress.usedNegentropy, progress.usedRequests) {
            case (true, true): .nip77AndReq
            case (true, false): .nip77
            case (false, _): progress.skippedAsRead ? .backfill : progress.usedCount ? .countAndReq : .req
            }
        if progress.skippedAsRead && !progress.usedNegentropy && !progress.usedRequests { record.relayEvents = nil }
        record.finishedAt = WallClock.unixNow()
        try await ledger.recordReconciliation(record)
        metrics?.reconciled(record)
        if record.requeued > 0 { deliveryWake?.signal() }
        let metadata: Logger.Metadata = [
            "scope": "\(scope.name)", "method": "\(record.method)", "ledger": "\(record.ledgerEvents)",
            "missing_on_relay": "\(record.missingOnRelay)", "missing_in_ledger": "\(record.missingInLedger)",
            "fetched": "\(record.fetched)", "requeued": "\(record.requeued)", "lost_after_delivery": "\(record.lostAfterDelivery)",
        ]
        if let error = record.error {
            logger.warning("reconciliation failed", metadata: metadata.merging(["error": "\(error)"]) { a, _ in a })
        } else if record.missingOnRelay + record.missingInLedger > 0 {
            logger.info("reconciliation found differences", metadata: metadata)
        } else {
            logger.debug("reconciliation found no differences", metadata: metadata)
        }
        return record
    }

    private var baseFilter: Filter { scope.relayFilter }

    /// Events of the scope by id: the scope's own conditions stay, since a DM relay serves gift
    /// wraps only to a filter naming the recipient (and refuses a bare ids filter).
    private func byID(_ ids: [String]) -> Filter {
        var f = baseFilter
        f.ids = ids
        f.since = nil
        return f
    }

    private func compare(_ window: TimeWindow, items: [LedgerItem], progress: inout Progress) async throws {
        progress.record.windows += 1
        if progress.negentropy {
            let outcome: NegentropyExchange.Outcome
            do {
                var exchange = NegentropyExchange(relay: relay)
                exchange.roundTimeout = negentropyRoundTimeout
                outcome = try await exchange.run(filter: window.filter(baseFilter), items: items)
            } catch let error as ReconcileError where error.isSessionLost && !progress.replacedConnection {
                // A relay that answers nothing on a connection for a whole round has most often
                // stopped serving that connection, not the next one: once a run, the window is
                // compared again on a new connection instead of failing the run.
                progress.replacedConnection = true
                logger.info("reconciliation session lost; replacing the connection and comparing again", metadata: ["error": "\(error)"])
                guard await relay.replaceConnection(reason: "\(error)", timeout: Self.reconnectWait) else { throw error }
                progress.record.windows -= 1
                try await compare(window, items: items, progress: &progress)
                return
            }
            switch outcome {
            case let .diff(have, need, traffic):
                progress.usedNegentropy = true
                progress.record.messages += traffic.messages
                progress.record.bytes += traffic.bytes
                progress.record.relayEvents! += items.count - have.count + need.count
                try await applyMissingOnRelay(have, to: &progress.record)
                try await fetchMissing(need, into: &progress.record)
                return
            case let .tooLarge(reason):
                if progress.splits < Self.maxSplits, let (left, right) = window.split(items: items) {
                    progress.splits += 1
                    progress.record.windows -= 1
                    logger.info("reconciliation window too large for the relay; splitting", metadata: ["reason": "\(reason)"])
                    let cut = items.partitioningIndex { $0.createdAt > left.upper! }
                    try await compare(left, items: Array(items[..<cut]), progress: &progress)
                    try await compare(right, items: Array(items[cut...]), progress: &progress)
                    return
                }
            case let .unsupported(reason):
                methods.noteUnsupported(.negentropy, on: relay.url)
                logger.info("relay does not reconcile with NIP-77; comparing through REQ", metadata: ["reason": "\(reason)"])
            }
            progress.negentropy = false
        }
        if readInFull {
            progress.skippedAsRead = true
            return
        }
        var comparison = RequestComparison(relay: relay, useCount: progress.count) { [ingestor, repair, url = relay.url] events in
            repair ? try await ingestor.ingest(events, from: url) : events.count
        }
        progress.usedRequests = true
        let result = try await comparison.run(window, base: baseFilter, items: items)
        if progress.count && !comparison.useCount { methods.noteUnsupported(.count, on: relay.url) }
        progress.count = comparison.useCount
        progress.usedCount = progress.usedCount || result.counted
        progress.record.messages += result.messages
        progress.record.relayEvents! += result.relayEvents
        progress.record.missingInLedger += result.missingInLedger
        if repair { progress.record.fetched += result.missingInLedger }
        try await applyMissingOnRelay(result.have, to: &progress.record)
    }

    /// The ledger's events the relay lacks: scheduled again for a writable relay; only counted
    /// for a read-only one. Events never to be pushed (superseded, expired, deleted, rejected by
    /// this relay) are not a gap.
    private func applyMissingOnRelay(_ have: [LedgerItem], to record: inout ReconciliationRecord) async throws {
        guard !have.isEmpty else { return }
        let apply = repair && writable
        var result = try await ledger.requeue(relay: relay.url, items: have, now: WallClock.unixNow(), comparedAt: record.startedAt, apply: apply)
        var recent = result.settledSinceComparison
        if !recent.isEmpty {
            // Delivered (or seen) while the comparison ran: missing only if the relay still lacks it.
            let present = try await idsOnRelay(recent.map(\.id.hex), record: &record)
            recent.removeAll { present.contains($0.id.hex) }
            let again = try await ledger.requeue(relay: relay.url, items: recent, now: WallClock.unixNow(), comparedAt: nil, apply: apply)
            result.requeued += again.requeued
            result.lostAfterDelivery += again.lostAfterDelivery
            result.notEligible += again.notEligible
            result.unknown += again.unknown
            result.alreadyPending += again.alreadyPending
        }
        // Repairing, events already waiting for delivery are no news; comparing only, they are
        // as missing as any.
        record.missingOnRelay += result.requeued + (repair ? 0 : result.alreadyPending)
        if apply {
            record.requeued += result.requeued
            record.lostAfterDelivery += result.lostAfterDelivery
        }
    }

    /// Which of these ids the relay holds now.
    private func idsOnRelay(_ ids: [String], record: inout ReconciliationRecord) async throws -> Set<String> {
        let found = FoundIDs()
        for start in stride(from: 0, to: ids.count, by: Self.idsPerRequest) {
            let batch = Array(ids[start..<min(start + Self.idsPerRequest, ids.count)])
            let summary = try await relay.fetchAll(byID(batch)) { page, _ in found.add(page) }
            record.messages += summary.pages * 2 + summary.events
        }
        return found.ids
    }

    /// Fetches by id what the relay has and the ledger lacks, and ingests it. Events that reached
    /// the ledger another way while the session ran are not counted as missing.
    private func fetchMissing(_ ids: [Bytes32], into record: inout ReconciliationRecord) async throws {
        guard repair, !ids.isEmpty else {
            record.missingInLedger += ids.count
            return
        }
        let url = relay.url
        let counted = FetchCount(ingestor: ingestor)
        for start in stride(from: 0, to: ids.count, by: Self.idsPerRequest) {
            let batch = ids[start..<min(start + Self.idsPerRequest, ids.count)].map(\.description)
            let summary = try await relay.fetchAll(byID(batch)) { page, _ in try await counted.ingest(page, from: url) }
            record.messages += summary.pages * 2 + summary.events
        }
        let (served, new) = counted.totals
        record.fetched += new
        record.missingInLedger += ids.count - (served - new)
    }
}

/// Events fetched by id and how many of them were new to the ledger.
private final class FetchCount: Sendable {
    let ingestor: EventIngestor
    private let counts = Mutex((served: 0, new: 0))

    init(ingestor: EventIngestor) { self.ingestor = ingestor }

    func ingest(_ page: [Event], from url: RelayURL) async throws {
        let new = try await ingestor.ingest(page, from: url)
        counts.withLock {
            $0.served += page.count; $0.new += new
        }
    }

    var totals: (served: Int, new: Int) { counts.withLock { $0 } }
}

private final class FoundIDs: Sendable {
    private let found = Mutex(Set<String>())
    func add(_ page: [Event]) { found.withLock { for e in page { $0.insert(e.id) } } }
    var ids: Set<String> { found.withLock { $0 } }
}
