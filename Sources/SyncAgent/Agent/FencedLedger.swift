import Ledger
import LedgerPostgres
import NostrCore

/// The shared ledger as one leased piece of work sees it: the writes a lease protects (cursor
/// advances, delivery outcomes, the archive mark) go through the fenced variants carrying the
/// lease's generation, so a holder that was paused past its lease writes nothing; the refused
/// write ends the work with `LeaseLost`. Before those writes, and before taking deliveries to send
/// or events to archive, the lease must still be trusted by the agent's own clock (`HeldLease`).
/// Everything else is the ledger's own (recording events and raising `newest_seen` are safe from
/// any number of agents at once).
struct FencedLedger: AgentLedgerStore {
    let base: PostgresLedger
    let lease: HeldLease
    var token: LeaseToken { lease.token }

    init(base: PostgresLedger, lease: HeldLease) {
        self.base = base
        self.lease = lease
    }

    private func check(_ outcome: FencedOutcome) throws(LeaseLost) {
        if outcome == .fenced { throw LeaseLost(resource: token.resource, generation: token.generation) }
    }

    // MARK: Fenced

    func setCursor(_ cursor: BackfillCursor, relay: RelayURL, pubkeys: [String]) async throws {
        try lease.check()
        try check(try await base.setCursor(cursor, relay: relay, pubkeys: pubkeys, under: token))
    }

    func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64, noteSuccessOf relay: RelayURL?) async throws {
        guard !results.isEmpty else { return }
        try lease.check()
        try check(try await base.recordDeliveryOutcomes(results, now: now, under: token))
        if let relay { try await base.noteRelaySuccess(relay, at: now) }
    }

    func setArchivedThroughSeq(_ seq: Int64) async throws {
        try lease.check()
        try check(try await base.setArchivedThroughSeq(seq, under: token))
    }

    // MARK: The ledger's own

    func record(_ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64) async throws -> [RecordOutcome] {
        try await base.record(batch, writableRelays: writableRelays, now: now)
    }
    func eventCount() async throws -> Int { try await base.eventCount() }
    /// Nothing is sent on a lease that may be someone else's now.
    func dueDeliveries(relay: RelayURL, limit: Int, now: Int64) async throws -> [PendingDelivery] {
        try lease.check()
        return try await base.dueDeliveries(relay: relay, limit: limit, now: now)
    }
    func ensureDeliveries(toWritableRelays relays: [RelayURL], now: Int64) async throws -> Int {
        try await base.ensureDeliveries(toWritableRelays: relays, now: now)
    }
    func hasPending(relay: RelayURL) async throws -> Bool { try await base.hasPending(relay: relay) }
    func nextDeliveryDue(relay: RelayURL) async throws -> Int64? { try await base.nextDeliveryDue(relay: relay) }
    func pendingCount(relay: RelayURL?) async throws -> Int { try await base.pendingCount(relay: relay) }
    func cursors(relay: RelayURL, pubkeys: [String]) async throws -> [String: BackfillCursor] {
        try await base.cursors(relay: relay, pubkeys: pubkeys)
    }
    func noteNewestSeen(_ createdAt: Int64, relay: RelayURL, pubkeys: [String]) async throws {
        try await base.noteNewestSeen(createdAt, relay: relay, pubkeys: pubkeys)
    }
    func reconcileItems(scope: ReconcileScope, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?) {
        try await base.reconcileItems(scope: scope, from: lower, maxItems: maxItems)
    }
    func requeue(relay: RelayURL, items: [LedgerItem], now: Int64, comparedAt: Int64?, apply: Bool) async throws -> RequeueResult {
        try await base.requeue(relay: relay, items: items, now: now, comparedAt: comparedAt, apply: apply)
    }
    func markPresent(relay: RelayURL, items: [LedgerItem], now: Int64) async throws {
        try await base.markPresent(relay: relay, items: items, now: now)
    }
    func recordReconciliation(_ record: ReconciliationRecord) async throws { try await base.recordReconciliation(record) }
    /// Nothing is archived on a lease that may be someone else's now.
    func events(afterSeq seq: Int64, limit: Int) async throws -> [StoredEvent] {
        try lease.check()
        return try await base.events(afterSeq: seq, limit: limit)
    }
    func archivedThroughSeq() async throws -> Int64 { try await base.archivedThroughSeq() }
    func noteRelaySuccess(_ relay: RelayURL, at time: Int64) async throws { try await base.noteRelaySuccess(relay, at: time) }
    func noteRelayError(_ relay: RelayURL, _ message: String, at time: Int64) async throws { try await base.noteRelayError(relay, message, at: time) }
    func noteScopeProblem(relay: RelayURL, scope: String, _ problem: String?, at time: Int64) async throws {
        try await base.noteScopeProblem(relay: relay, scope: scope, problem, at: time)
    }
    func ignoresLimitZero(relay: RelayURL) async throws -> Bool { try await base.ignoresLimitZero(relay: relay) }
    func noteIgnoresLimitZero(relay: RelayURL) async throws { try await base.noteIgnoresLimitZero(relay: relay) }
    func beginRun(mode: String, at time: Int64) async throws -> Int64 { try await base.beginRun(mode: mode, at: time) }
    func endRun(_ id: Int64, at time: Int64, exitCode: Int32, summaryJSON: String) async throws {
        try await base.endRun(id, at: time, exitCode: exitCode, summaryJSON: summaryJSON)
    }
    func seq(ofEventID id: String, createdAt: Int64) async throws -> Int64? { try await base.seq(ofEventID: id, createdAt: createdAt) }
    func authorEventCount(authors: [String], kinds: Set<Int>?) async throws -> Int {
        try await base.authorEventCount(authors: authors, kinds: kinds)
    }
    func cacheAuthorMetadata(_ event: Event, from relay: RelayURL, at time: Int64) async throws -> Bool {
        try await base.cacheAuthorMetadata(event, from: relay, at: time)
    }
    func authorMetadata(kind: Int, pubkeys: [String]) async throws -> [String: CachedAuthorMetadata] {
        try await base.authorMetadata(kind: kind, pubkeys: pubkeys)
    }
    func noteDiscoveryChecked(_ pubkeys: [String], at time: Int64) async throws { try await base.noteDiscoveryChecked(pubkeys, at: time) }
    func discoveryChecks(_ pubkeys: [String]) async throws -> [String: Int64] { try await base.discoveryChecks(pubkeys) }
    func saveRelayHealth(_ records: [RelayURL: RelayHealthRecord]) async throws { try await base.saveRelayHealth(records) }
    func relayHealthRecords() async throws -> [RelayURL: RelayHealthRecord] { try await base.relayHealthRecords() }
    func registerScopeIndexes(_ definitions: [ScopeIndexDefinition]) async throws { try await base.registerScopeIndexes(definitions) }
    func reconcileItems(indexes keys: [String], kinds: Set<Int>?, from lower: Int64, maxItems: Int) async throws -> (
        items: [LedgerItem], upper: Int64?
    ) {
        try await base.reconcileItems(indexes: keys, kinds: kinds, from: lower, maxItems: maxItems)
    }
    func scopeEventCount(indexes keys: [String], kinds: Set<Int>?) async throws -> Int {
        try await base.scopeEventCount(indexes: keys, kinds: kinds)
    }
}

/// A lease-protected step was refused, by the database (a stale generation) or by the agent's own
/// clock (the lease ran out): the lease may be someone else's now, so the work it covered stops.
struct LeaseLost: Error, Sendable, CustomStringConvertible {
    let resource: String
    let generation: Int64
    var description: String { "lease \(resource) at generation \(generation) lost" }
}
