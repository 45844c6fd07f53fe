import GRDB
import GRDBSQLite
import NostrCore

extension Ledger {
    /// The ledger's events in `scope` from `lower` on, sorted by (created_at, id): at least every
    /// event of each second read, and no further second once `maxItems` are read, so a window
    /// never splits one `created_at`. `upper` is the last second read when more remain (the
    /// caller's next window starts after it), nil when the ledger has nothing later.
    public func reconcileItems(scope: ReconcileScope, from lower: Int64, maxItems: Int) throws -> (items: [LedgerItem], upper: Int64?) {
        let window = try reconcileWindow(scope: scope, from: lower, maxItems: maxItems)
        return (window.items, window.upper)
    }

    /// `reconcileItems`, with the events' mark its snapshot saw: every event recorded later has
    /// a higher seq (one writer; the SQLite ledger never deletes an event), so the window can be
    /// brought up to date later from `scopeItemsRecorded(after:)` alone.
    public func reconcileWindow(scope: ReconcileScope, from lower: Int64, maxItems: Int) throws -> MarkedWindow {
        // When no row could fail the scope's test (every kind, and only its authors in the
        // ledger: `AuthorCensus`), the window is read from the (created_at, id) index alone: no
        // table row is looked up, which was most of an unchanged re-sync's CPU.
        var censusBehind = false
        let window = try read("read reconciliation items") { db -> MarkedWindow in
            let mark = try Int64.fetchOne(db, sql: "SELECT \(AuthorCensus.sequenceSQL)") ?? 0
            let (items, upper) = try Self.windowItems(db, scope: scope, from: lower, maxItems: maxItems, censusBehind: &censusBehind)
            return MarkedWindow(items: items, upper: upper, mark: mark)
        }
        // A build that keeps no census recorded events: counted again for the next windows.
        if censusBehind { try recountAuthors() }
        return window
    }

    /// The events of `scope` recorded after `mark`, in the order they were recorded, and the mark
    /// this read reached; nil when there are more than `limit`. Read from the rows past `mark`
    /// alone (seq is the table's key).
    public func scopeItemsRecorded(after mark: Int64, scope: ReconcileScope, limit: Int) throws -> (items: [RecordedItem], mark: Int64)? {
        try read("read events recorded since") { db in
            let reached = try Int64.fetchOne(db, sql: "SELECT \(AuthorCensus.sequenceSQL)") ?? 0
            let statement = try db.cachedStatement(sql: "SELECT seq, created_at, id, pubkey, kind FROM events WHERE seq > ? ORDER BY seq")
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            defer { sqlite3_reset(handle) }
            sqlite3_bind_int64(handle, 1, mark)
            var items: [RecordedItem] = []
            var read = 0
            while true {
                let code = sqlite3_step(handle)
                guard code == SQLITE_ROW else {
                    if code == SQLITE_DONE { break }
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
                }
                read += 1
                if read > limit { return nil }
                if let kinds = scope.kinds, !kinds.contains(Int(sqlite3_column_int64(handle, 4))) { continue }
                if let authors = scope.authorKeys {
                    guard let pubkey = Self.bytes32(handle, column: 3), authors.contains(pubkey) else { continue }
                }
                guard let id = Self.bytes32(handle, column: 2) else { continue }
                items.append(RecordedItem(seq: sqlite3_column_int64(handle, 0), item: LedgerItem(createdAt: sqlite3_column_int64(handle, 1), id: id)))
            }
            return (items, reached)
        }
    }

    private static func windowItems(
        _ db: Database, scope: ReconcileScope, from lower: Int64, maxItems: Int, censusBehind: inout Bool
    ) throws -> (items: [LedgerItem], upper: Int64?) {
        var everyRowFits = scope.kinds == nil
        if everyRowFits, let authors = scope.authorKeys {
            let census = try AuthorCensus.read(db)
            censusBehind = census.behind
            everyRowFits = census.isWithin(authors)
        }
        if everyRowFits {
            let statement = try db.cachedStatement(
                sql: "SELECT created_at, id FROM events WHERE created_at >= ? ORDER BY created_at, id")
            return try Self.stepItems(db, statement, lower: lower, maxItems: maxItems, idColumn: 1) { _ in true }
        }
        // Stepped through SQLite's C API: ids and pubkeys are decoded from the row's own text
        // into 32-byte values, never into a String each, so a window costs 40 bytes an event.
        let statement = try db.cachedStatement(
            sql: "SELECT created_at, id, pubkey, kind FROM events WHERE created_at >= ? ORDER BY created_at, id")
        return try Self.stepItems(db, statement, lower: lower, maxItems: maxItems, idColumn: 1) { handle in
            if let kinds = scope.kinds, !kinds.contains(Int(sqlite3_column_int64(handle, 3))) { return false }
            if let authors = scope.authorKeys {
                guard let pubkey = Self.bytes32(handle, column: 2), authors.contains(pubkey) else { return false }
            }
            return true
        }
    }

    /// A column's 64 hex digits as 32 bytes, nil for anything else.
    static func bytes32(_ handle: OpaquePointer, column: Int32) -> Bytes32? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        return Bytes32(hexUTF8: UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// Schedules again, for writable `relay`, events it was found to lack. Superseded versions,
    /// expired events, events a NIP-09 deletion names and events the relay rejected for good are
    /// left alone. A row that said delivered (or present) counts as lost after delivery. With
    /// `apply` false nothing changes: the result only sorts the items. A row settled at or after
    /// `comparedAt` is left as it is and returned: the relay may have got the event after its set
    /// was read, which only asking it again can tell.
    public func requeue(relay: RelayURL, items: [LedgerItem], now: Int64, comparedAt: Int64? = nil, apply: Bool = true) throws -> RequeueResult {
        guard !items.isEmpty else { return RequeueResult() }
        return try write("requeue deliveries") { db in
            var result = RequeueResult()
            // Stepped through SQLite's C API: a GRDB row per item (its columns looked up by
            // name, a String each) was most of the look-up's cost.
            let find = try DirectStatement(
                db,
                sql: """
                    SELECT e.seq, e.replace_key, e.expiration, d.state, d.updated_at,
                           EXISTS (SELECT 1 FROM replaceable_heads h WHERE h.replace_key = e.replace_key AND h.event_id = e.id),
                           EXISTS (SELECT 1 FROM deleted_events x WHERE x.event_id = e.id AND x.pubkey = e.pubkey),
                           \(Self.vanishedSQL)
                    FROM events e LEFT JOIN deliveries d ON d.relay = ? AND d.seq = e.seq
                    WHERE e.created_at = ? AND e.id = ?
                    """)
            let upsert = try DirectStatement(
                db,
                sql: """
                    INSERT INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, 'pending', ?)
                    ON CONFLICT (relay, seq) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = 0, reason = NULL,
                        updated_at = excluded.updated_at
                    """)
            for item in items {
                let found = try find.row(
                    db,
                    { b in
                        b.add(relay); b.add(relay); b.add(item.createdAt); b.add(item.id.hex)
                    },
                    { row in
                        let superseded = !row.isNull(1) && !row.bool(5)
                        let expired = row.int64(2).map { $0 <= now } ?? false
                        return (
                            seq: row.int64(0) ?? 0, ineligible: superseded || expired || row.bool(6) || row.bool(7),
                            state: row.string(3).flatMap(DeliveryState.init(rawValue:)), updatedAt: row.int64(4)
                        )
                    })
                guard let found else {
                    result.unknown += 1
                    continue
                }
                if result.sort(item, ineligible: found.ineligible, state: found.state, updatedAt: found.updatedAt, comparedAt: comparedAt), apply {
                    try upsert.run(db) { b in
                        b.add(relay); b.add(found.seq); b.add(now)
                    }
                }
            }
            return result
        }
    }

    /// Notes that `relay` holds these events (found by reconciliation): nothing is owed to it.
    public func markPresent(relay: RelayURL, items: [LedgerItem], now: Int64) throws {
        guard !items.isEmpty else { return }
        try write("mark present") { db in
            for item in items {
                guard let seq = try Int64.fetchOne(db.cachedStatement(sql: Self.findSeqSQL), arguments: [item.createdAt, item.id.hex]) else { continue }
                try Self.markPresent(db, relay: relay, seq: seq, now: now)
            }
        }
    }

    public func recordReconciliation(_ r: ReconciliationRecord) throws {
        try write("record reconciliation") { db in
            try db.execute(
                sql: """
                    INSERT INTO reconciliations (relay, scope, started_at, finished_at, method, windows, ledger_events, relay_events, missing_on_relay,
                        missing_in_ledger, fetched, requeued, lost_after_delivery, messages, bytes, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    r.relay, r.scope, r.startedAt, r.finishedAt, r.method.rawValue, r.windows, r.ledgerEvents, r.relayEvents, r.missingOnRelay,
                    r.missingInLedger, r.fetched, r.requeued, r.lostAfterDelivery, r.messages, r.bytes, r.error,
                ])
        }
    }

    /// Each relay's most recent reconciliation of `scope`, and its total of events lost after delivery.
    public func lastReconciliations(scope: String = "authors") throws -> [RelayURL: (last: ReconciliationRecord, lostAfterDeliveryTotal: Int)] {
        var out: [RelayURL: (ReconciliationRecord, Int)] = [:]
        for (record, lost) in try lastReconciliationsOfEveryScope() where record.scope == scope { out[record.relay] = (record, lost) }
        return out
    }

    /// The most recent reconciliation of each (relay, scope), with its total of events lost after
    /// delivery, sorted by relay and scope.
    public func lastReconciliationsOfEveryScope() throws -> [(last: ReconciliationRecord, lostAfterDeliveryTotal: Int)] {
        try read("read reconciliations") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.relay, r.started_at, r.finished_at, r.method, r.windows, r.ledger_events, r.relay_events, r.missing_on_relay,
                           r.missing_in_ledger, r.fetched, r.requeued, r.lost_after_delivery, r.messages, r.bytes, r.error,
                           (SELECT SUM(lost_after_delivery) FROM reconciliations s WHERE s.relay = r.relay AND s.scope = r.scope), r.scope
                    FROM reconciliations r
                    WHERE r.id = (SELECT MAX(id) FROM reconciliations s WHERE s.relay = r.relay AND s.scope = r.scope)
                    ORDER BY r.relay, r.scope
                    """)
            return rows.compactMap { row in
                guard let relay = RelayURL(row[0] as String) else { return nil }
                var record = ReconciliationRecord(
                    relay: relay, startedAt: row[1], finishedAt: row[2], method: ReconcileMethod(stored: row[3]), windows: row[4], ledgerEvents: row[5],
                    relayEvents: row[6], missingOnRelay: row[7], missingInLedger: row[8], fetched: row[9], requeued: row[10],
                    lostAfterDelivery: row[11], messages: row[12], bytes: row[13], error: row[14])
                record.scope = row[16]
                return (record, row[15] ?? 0)
            }
        }
    }

    /// Whether this relay was seen ignoring `limit: 0` on a live subscription.
    public func ignoresLimitZero(relay: RelayURL) throws -> Bool {
        try read("read relay quirks") { db in
            try Bool.fetchOne(db, sql: "SELECT ignores_limit_zero FROM relays WHERE url = ?", arguments: [relay]) ?? false
        }
    }

    public func noteIgnoresLimitZero(relay: RelayURL) throws {
        try write("note relay quirk") { db in
            try db.execute(
                sql: """
                    INSERT INTO relays (url, ignores_limit_zero) VALUES (?, 1)
                    ON CONFLICT (url) DO UPDATE SET ignores_limit_zero = 1
                    """, arguments: [relay])
        }
    }
}

/// Which ledger events a relay is compared against: the configured filter's authors, kinds and
/// `since` (nil means any).
public struct ReconcileScope: Sendable {
    public var authors: Set<String>? {
        didSet { authorKeys = authors.map { Set($0.compactMap(Bytes32.init(hex:))) } }
    }
    /// The authors as 32-byte keys, matched against the ledger's rows without a String each.
    private(set) var authorKeys: Set<Bytes32>?
    public var kinds: Set<Int>?
    public var since: Int64?

    public init(authors: [String]?, kinds: [Int]?, since: Int64?) {
        self.authors = authors.map(Set.init)
        authorKeys = authors.map { Set($0.compactMap(Bytes32.init(hex:))) }
        self.kinds = kinds.map(Set.init)
        self.since = since
    }
}

/// A reconciliation window and the events' mark its read saw (`Ledger.reconcileWindow`).
public struct MarkedWindow: Sendable {
    public var items: [LedgerItem]
    /// The last second read when more remain; nil when the window reaches the ledger's end.
    public var upper: Int64?
    /// The highest seq any event had when the window was read.
    public var mark: Int64
}

/// An event recorded after some mark, and where it stands in the record.
public struct RecordedItem: Sendable {
    public let seq: Int64
    public let item: LedgerItem
}

/// One event as reconciliation sees it: its sort key.
public struct LedgerItem: Sendable, Hashable {
    public let createdAt: Int64
    public let id: Bytes32

    public init(createdAt: Int64, id: Bytes32) {
        self.createdAt = createdAt
        self.id = id
    }
}

public struct RequeueResult: Sendable, Equatable {
    public var requeued = 0
    /// Requeued events whose row said the relay had them (delivered, duplicate or present).
    public var lostAfterDelivery = 0
    public var alreadyPending = 0
    /// Settled (delivered, or seen on the relay) since the comparison began: to be checked again.
    public var settledSinceComparison: [LedgerItem] = []
    /// Superseded, expired, deleted (NIP-09) or rejected by this relay before: never pushed.
    public var notEligible = 0
    /// Not in the ledger (the caller's list was stale).
    public var unknown = 0

    public init() {}

    /// Counts `item` under the first rule it falls to, the same on every store; true when it is
    /// to be scheduled again. `ineligible`: superseded, expired, deleted or vanished.
    public mutating func sort(
        _ item: LedgerItem, ineligible: Bool, state: DeliveryState?, updatedAt: Int64?, comparedAt: Int64?
    ) -> Bool {
        if ineligible || state == .rejected {
            notEligible += 1
            return false
        }
        if state == .pending {
            alreadyPending += 1
            return false
        }
        if let comparedAt, let updatedAt, updatedAt >= comparedAt, state != nil {
            settledSinceComparison.append(item)
            return false
        }
        if state == .delivered || state == .duplicate || state == .present { lostAfterDelivery += 1 }
        requeued += 1
        return true
    }
}

/// What one reconciliation of a relay found and did.
public struct ReconciliationRecord: Sendable, Equatable, Codable {
    public var relay: RelayURL
    /// Which scope was compared: "authors", "inbox", "filters[N]".
    public var scope = "authors"
    public var startedAt: Int64
    public var finishedAt: Int64
    public var method: ReconcileMethod
    public var windows: Int
    public var ledgerEvents: Int
    /// nil when the comparison did not finish.
    public var relayEvents: Int?
    public var missingOnRelay: Int
    public var missingInLedger: Int
    /// Events fetched from the relay into the ledger.
    public var fetched: Int
    /// Deliveries scheduled again for the relay.
    public var requeued: Int
    public var lostAfterDelivery: Int
    public var messages: Int
    public var bytes: Int
    public var error: String?

    public init(
        relay: RelayURL, startedAt: Int64, finishedAt: Int64, method: ReconcileMethod, windows: Int, ledgerEvents: Int, relayEvents: Int?,
        missingOnRelay: Int, missingInLedger: Int, fetched: Int, requeued: Int, lostAfterDelivery: Int, messages: Int, bytes: Int,
        error: String?
    ) {
        self.relay = relay
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.method = method
        self.windows = windows
        self.ledgerEvents = ledgerEvents
        self.relayEvents = relayEvents
        self.missingOnRelay = missingOnRelay
        self.missingInLedger = missingInLedger
        self.fetched = fetched
        self.requeued = requeued
        self.lostAfterDelivery = lostAfterDelivery
        self.messages = messages
        self.bytes = bytes
        self.error = error
    }
}
