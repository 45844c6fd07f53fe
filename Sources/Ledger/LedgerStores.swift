import NostrCore

// The agent's ledger as narrow, async-only interfaces, one per concern, so that the same agent
// runs on the embedded SQLite ledger (`Ledger`) and on the shared PostgreSQL one
// (`LedgerPostgres.PostgresLedger`). Each method is one transaction that keeps the invariants
// `Ledger` documents; the behavioural suite (LedgerPostgresEndToEndTests.LedgerStoreBehaviourTests) runs
// the same assertions against both.

/// Recording verified events and scheduling what is owed to the writable relays.
public protocol EventStore: Sendable {
    func record(_ batch: [ObservedEvent], writableRelays: [RelayURL], now: Int64) async throws -> [RecordOutcome]
    func eventCount() async throws -> Int
}

/// What each backup relay is owed, and its answers.
public protocol DeliveryStore: Sendable {
    func dueDeliveries(relay: RelayURL, limit: Int, now: Int64) async throws -> [PendingDelivery]
    func recordDeliveryOutcomes(_ results: [DeliveryResult], now: Int64, noteSuccessOf relay: RelayURL?) async throws
    @discardableResult func ensureDeliveries(toWritableRelays relays: [RelayURL], now: Int64) async throws -> Int
    func hasPending(relay: RelayURL) async throws -> Bool
    /// When the first pending delivery to `relay` falls due (unix seconds), nil when none is pending.
    func nextDeliveryDue(relay: RelayURL) async throws -> Int64?
    func pendingCount(relay: RelayURL?) async throws -> Int
}

/// Where each relay's backfill stands, per cursor key.
public protocol CursorStore: Sendable {
    func cursors(relay: RelayURL, pubkeys: [String]) async throws -> [String: BackfillCursor]
    func setCursor(_ cursor: BackfillCursor, relay: RelayURL, pubkeys: [String]) async throws
    func noteNewestSeen(_ createdAt: Int64, relay: RelayURL, pubkeys: [String]) async throws
}

/// The ledger's side of set reconciliation: windows of (created_at, id), and what a comparison found.
public protocol ReconciliationStore: Sendable {
    func reconcileItems(scope: ReconcileScope, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?)
    func requeue(relay: RelayURL, items: [LedgerItem], now: Int64, comparedAt: Int64?, apply: Bool) async throws -> RequeueResult
    func markPresent(relay: RelayURL, items: [LedgerItem], now: Int64) async throws
    func recordReconciliation(_ record: ReconciliationRecord) async throws
}

/// The archiver's position in the ledger's commit order.
public protocol ArchiveMarkStore: Sendable {
    func events(afterSeq seq: Int64, limit: Int) async throws -> [StoredEvent]
    func archivedThroughSeq() async throws -> Int64
    func setArchivedThroughSeq(_ seq: Int64) async throws
}

/// What the agent notes about relays and its runs, beside the events.
public protocol BookkeepingStore: Sendable {
    func noteRelaySuccess(_ relay: RelayURL, at time: Int64) async throws
    func noteRelayError(_ relay: RelayURL, _ message: String, at time: Int64) async throws
    func noteScopeProblem(relay: RelayURL, scope: String, _ problem: String?, at time: Int64) async throws
    func ignoresLimitZero(relay: RelayURL) async throws -> Bool
    func noteIgnoresLimitZero(relay: RelayURL) async throws
    func beginRun(mode: String, at time: Int64) async throws -> Int64
    func endRun(_ id: Int64, at time: Int64, exitCode: Int32, summaryJSON: String) async throws
    func seq(ofEventID id: String, createdAt: Int64) async throws -> Int64?
    func authorEventCount(authors: [String], kinds: Set<Int>?) async throws -> Int
}

/// The discovery cache: authors' relay lists and profiles (the newest of each kind wins, NIP-01's
/// tie-break), when the indexers were last asked about each author, and each relay's last
/// measured health and NIP-11 document.
public protocol DiscoveryStore: Sendable {
    /// Keeps `event` when it is newer than the cached one of its author and kind; whether it did.
    @discardableResult func cacheAuthorMetadata(_ event: Event, from relay: RelayURL, at time: Int64) async throws -> Bool
    func authorMetadata(kind: Int, pubkeys: [String]) async throws -> [String: CachedAuthorMetadata]
    func noteDiscoveryChecked(_ pubkeys: [String], at time: Int64) async throws
    func discoveryChecks(_ pubkeys: [String]) async throws -> [String: Int64]
    /// Replaces each relay's record; a record without figures or information keeps the old one.
    func saveRelayHealth(_ records: [RelayURL: RelayHealthRecord]) async throws
    func relayHealthRecords() async throws -> [RelayURL: RelayHealthRecord]
}

/// The inbox's and the filters' scopes: indexes of the ledger's events beyond the authors' own,
/// kept by `record` (each `ObservedEvent.indexes`) once registered.
public protocol ScopeIndexStore: Sendable {
    /// Makes these indexes current, filling a new or lagging one from the events recorded.
    func registerScopeIndexes(_ definitions: [ScopeIndexDefinition]) async throws
    /// One reconciliation window of these indexes' events, as `reconcileItems(scope:…)`.
    func reconcileItems(indexes keys: [String], kinds: Set<Int>?, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?)
    func scopeEventCount(indexes keys: [String], kinds: Set<Int>?) async throws -> Int
}

/// Everything the agent's core path needs: record, deliver, backfill, reconcile, archive.
public typealias LedgerStore = ArchiveMarkStore & CursorStore & DeliveryStore & EventStore & ReconciliationStore

/// The core path and its bookkeeping: what `SyncAgent` runs on, on either ledger.
public typealias AgentLedgerStore = BookkeepingStore & DiscoveryStore & LedgerStore & ScopeIndexStore

// The SQLite ledger's own methods are the witnesses (its synchronous reads serve as async ones).
extension Ledger: EventStore, DeliveryStore, CursorStore, ReconciliationStore, ArchiveMarkStore, BookkeepingStore, DiscoveryStore, ScopeIndexStore {}

extension StoredEvent {
    /// For stores outside this module.
    public static func make(seq: Int64, id: String, createdAt: Int64, rawJSON: String) -> StoredEvent {
        StoredEvent(seq: seq, id: id, createdAt: createdAt, rawJSON: rawJSON)
    }
}

extension PendingDelivery {
    /// For stores outside this module.
    public static func make(seq: Int64, eventID: String, kind: Int, relay: RelayURL, rawJSON: String, attempts: Int) -> PendingDelivery {
        PendingDelivery(seq: seq, eventID: eventID, kind: kind, relay: relay, rawJSON: rawJSON, attempts: attempts)
    }
}
