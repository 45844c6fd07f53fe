import Foundation
import GRDB
import NostrCore
import PeerHarness
import Synchronization
import Testing

@testable import Ledger

/// The ledger's side of reconciliation: the sorted windows it hands out, and which missing
/// events it schedules again.
@Suite struct LedgerReconcileTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002"
    let key = SecretKey.generate()

    func record(_ l: Ledger, _ events: [Event], from relay: RelayURL, now: Int64 = 1_000) throws {
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: relay) }, writableRelays: [b], now: now)
    }

    func item(_ e: Event) -> LedgerItem { LedgerItem(createdAt: e.createdAt, id: Bytes32(hex: e.id)!) }

    @Test func windowsAreSortedAndNeverSplitASecond() throws {
        let l = try Ledger.temporary()
        let other = SecretKey.generate()
        // Five events per second for 20 seconds, recorded out of order, plus another author's.
        var events = try (0..<100).map { i in try key.sign(kind: 1, content: "n\(i)", createdAt: 1_700_000_000 + Int64(i % 20)) }
        events.shuffle()
        try record(l, events, from: a)
        try record(l, try (0..<10).map { try other.sign(kind: 1, content: "o\($0)", createdAt: 1_700_000_000) }, from: a)
        let scope = ReconcileScope(authors: [key.publicKey], kinds: [1], since: nil)
        var lower: Int64 = 0
        var all: [LedgerItem] = []
        var windows = 0
        while true {
            let (items, upper) = try l.reconcileItems(scope: scope, from: lower, maxItems: 12)
            windows += 1
            #expect(items == items.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) })
            if let upper {
                #expect(items.count == 15 && items.last!.createdAt == upper, "three whole seconds of five")
            }
            all += items
            guard let upper else { break }
            lower = upper + 1
        }
        #expect(windows == 7)
        #expect(Set(all) == Set(events.map(item)))
        #expect(all.count == 100)
    }

    /// Windows read from the (created_at, id) index alone, when the ledger holds only the scope's
    /// authors, are the windows the table gives; one event of another author sends the read back
    /// to the table, which leaves it out.
    @Test func windowsFromTheIndexAloneMatchTheTable() throws {
        let l = try Ledger.temporary()
        let second = SecretKey.generate(), stranger = SecretKey.generate()
        let events = try (0..<60).map { i in try (i % 2 == 0 ? key : second).sign(kind: 1 + i % 3, content: "n\(i)", createdAt: 1_700_000_000 + Int64(i % 25)) }
        try record(l, events.shuffled(), from: a)
        #expect(try l.authorEventCount(authors: [key.publicKey], kinds: nil) == 30)
        func windows(_ scope: ReconcileScope) throws -> [[LedgerItem]] {
            var lower: Int64 = 0
            var out: [[LedgerItem]] = []
            while out.count < 100 {
                let (items, upper) = try l.reconcileItems(scope: scope, from: lower, maxItems: 7)
                out.append(items)
                guard let upper else { break }
                lower = upper + 1
            }
            return out
        }
        let both = ReconcileScope(authors: [key.publicKey, second.publicKey], kinds: nil, since: nil)
        let fromIndex = try windows(both)
        #expect(fromIndex.count > 3 && fromIndex.joined().count == 60)
        // The same scope with every kind named goes through the table's rows.
        #expect(try windows(ReconcileScope(authors: both.authors.map(Array.init), kinds: [1, 2, 3], since: nil)) == fromIndex)
        #expect(try l.authorEventCount(authors: [key.publicKey, second.publicKey], kinds: nil) == 60)
        #expect(try l.authorEventCount(authors: [key.publicKey], kinds: nil) == 30)

        let foreign = try stranger.sign(kind: 1, content: "not ours", createdAt: 1_700_000_003)
        try record(l, [foreign], from: a)
        #expect(try windows(both) == fromIndex, "another author's event is left out")
        #expect(try windows(ReconcileScope(authors: nil, kinds: nil, since: nil)).joined().contains(item(foreign)))
        #expect(try l.authorEventCount(authors: [key.publicKey, second.publicKey], kinds: nil) == 60)
    }

    @Test func requeueSendsAgainOnlyWhatMayBePushed() throws {
        let l = try Ledger.temporary()
        let kept = try key.sign(kind: 1, content: "kept", createdAt: 1_700_000_000)
        let oldProfile = try key.sign(kind: 0, content: "{}", createdAt: 1_700_000_001)
        let newProfile = try key.sign(kind: 0, content: "{\"name\":\"x\"}", createdAt: 1_700_000_002)
        let expired = try key.sign(kind: 1, content: "gone", tags: [["expiration", "1500"]], createdAt: 1_700_000_003)
        let deleted = try key.sign(kind: 1, content: "regret", createdAt: 1_700_000_004)
        let deletion = try key.sign(kind: 5, content: "", tags: [["e", deleted.id]], createdAt: 1_700_000_005)
        let refused = try key.sign(kind: 1, content: "refused", createdAt: 1_700_000_006)
        let waiting = try key.sign(kind: 1, content: "waiting", createdAt: 1_700_000_007)
        try record(l, [kept, oldProfile, newProfile, expired, deleted, deletion, refused, waiting], from: a, now: 1_000)
        let due = try l.dueDeliveries(relay: b, limit: 100, now: 1_000)
        let seq = Dictionary(uniqueKeysWithValues: due.map { ($0.eventID, $0.seq) })
        try l.recordDeliveryOutcomes(
            [kept, newProfile, expired, deleted, deletion].map { DeliveryResult(eventID: $0.id, relay: b, outcome: .delivered, seq: seq[$0.id]!) }
                + [DeliveryResult(eventID: refused.id, relay: b, outcome: .rejected("blocked: no"), seq: seq[refused.id]!)], now: 1_001)

        let stranger = LedgerItem(createdAt: 1, id: Bytes32(hex: String(repeating: "0", count: 64))!)
        let missing = [kept, oldProfile, newProfile, expired, deleted, refused, waiting].map(item) + [stranger]
        let dry = try l.requeue(relay: b, items: missing, now: 2_000, apply: false)
        #expect(try l.pendingCount(relay: b) == 1, "a dry run changes nothing")
        let result = try l.requeue(relay: b, items: missing, now: 2_000)
        #expect(result == dry)
        #expect(result.requeued == 2 && result.lostAfterDelivery == 2, "\(result)")
        #expect(result.notEligible == 4 && result.alreadyPending == 1 && result.unknown == 1, "\(result)")
        #expect(Set(try l.dueDeliveries(relay: b, limit: 100, now: 2_000).map(\.eventID)) == [kept.id, newProfile.id, waiting.id])
        #expect(try l.presence(of: kept)[b] == .pending)
    }

    @Test func aRowSettledDuringTheComparisonIsLeftAlone() throws {
        let l = try Ledger.temporary()
        let e = try key.sign(kind: 1, content: "x", createdAt: 1_700_000_000)
        try record(l, [e], from: a, now: 1_000)
        let seq = try #require(try l.seq(ofEventID: e.id, createdAt: e.createdAt))
        try l.recordDeliveryOutcomes([DeliveryResult(eventID: e.id, relay: b, outcome: .delivered, seq: seq)], now: 1_500)
        let result = try l.requeue(relay: b, items: [item(e)], now: 1_600, comparedAt: 1_400)
        #expect(result.settledSinceComparison == [item(e)] && result.requeued == 0)
        #expect(try l.presence(of: e)[b] == .delivered)
    }

    @Test func reconciliationsAreKeptPerRelay() throws {
        let l = try Ledger.temporary()
        func rec(_ relay: RelayURL, _ at: Int64, lost: Int) -> ReconciliationRecord {
            ReconciliationRecord(
                relay: relay, startedAt: at, finishedAt: at + 1, method: .nip77, windows: 1, ledgerEvents: 10, relayEvents: 9,
                missingOnRelay: lost, missingInLedger: 0, fetched: 0, requeued: lost, lostAfterDelivery: lost, messages: 4,
                bytes: 100, error: nil)
        }
        try l.recordReconciliation(rec(a, 10, lost: 3))
        try l.recordReconciliation(rec(a, 20, lost: 1))
        try l.recordReconciliation(rec(b, 15, lost: 0))
        let last = try l.lastReconciliations()
        #expect(last[a]?.last == rec(a, 20, lost: 1) && last[a]?.lostAfterDeliveryTotal == 4)
        #expect(last[b]?.last.startedAt == 15)
    }
}

extension LedgerReconcileTests {
    /// Recording schedules every writable relay, so a restart has nothing to look for.
    @Test func recordingKeepsTheEnsuredMarkUpToDate() throws {
        let l = try Ledger.temporary()
        _ = try l.ensureDeliveries(toWritableRelays: [b], now: 1)
        try record(l, try (0..<5).map { try key.sign(kind: 1, content: "m\($0)", createdAt: 1_700_000_000 + Int64($0)) }, from: a)
        #expect(try l.ensureDeliveries(toWritableRelays: [b], now: 2) == 0)
        #expect(try l.pendingCount(relay: b) == 5)
    }
}

/// The census of a ledger's authors that lets reconciliation read windows from the index alone.
@Suite struct AuthorCensusTests {
    @Test func pastTheLimitOrAnAuthorThatIsNoKeyItOnlyKnowsThereAreMore() {
        let keys = (0...AuthorCensus.limit).map { i in Bytes32(w0: UInt64(i), w1: 0, w2: 0, w3: 0) }
        var census = AuthorCensus()
        for key in keys.dropLast() { census.add(key) }
        #expect(census.isWithin(Set(keys)) && !census.isWithin(Set(keys.dropFirst())))
        census.add(keys.last)
        #expect(census.overflowed && census.authors.isEmpty && !census.isWithin(Set(keys)))
        var garbled = AuthorCensus()
        garbled.add(nil)
        #expect(!garbled.isWithin(Set(keys)))
    }

    func census(_ l: Ledger) throws -> AuthorCensus { try l.pool.read { try AuthorCensus.read($0) } }

    @Test func itIsKeptInTheLedgerAndOnlyWhatCommittedIsRemembered() throws {
        let l = try Ledger.temporary()
        let keys = (0..<4).map { _ in SecretKey.generate() }
        let a: RelayURL = "ws://127.0.0.1:7001"
        func record(_ key: SecretKey, _ content: String) throws {
            _ = try l.record([ObservedEvent(event: try key.sign(kind: 1, content: content, createdAt: 1_700_000_000), relay: a)], writableRelays: [], now: 1)
        }
        func counted() throws -> Set<String>? {
            let census = try l.pool.read { try AuthorCensus.read($0) }
            return census.overflowed ? nil : Set(census.authors.map(\.hex))
        }
        let scope = ReconcileScope(authors: keys.map(\.publicKey), kinds: nil, since: nil)
        try record(keys[0], "0")
        try record(keys[1], "1")
        try record(keys[0], "2")
        #expect(try counted() == [keys[0].publicKey, keys[1].publicKey])
        #expect(AuthorCensus.committed.withLock { $0[l.path] } == .counted([keys[0].publicKey, keys[1].publicKey]))

        // A transaction that rolls back leaves no row, and nothing remembered that would keep
        // the author's next event from writing one.
        struct Abandoned: Error {}
        #expect(throws: Abandoned.self) {
            try l.pool.write { db in
                try l.countAuthors(db, [keys[2].publicKey], inserted: 4...4)
                throw Abandoned()
            }
        }
        #expect(try counted() == [keys[0].publicKey, keys[1].publicKey])
        #expect(AuthorCensus.committed.withLock { $0[l.path] } == .counted([keys[0].publicKey, keys[1].publicKey]))
        try record(keys[2], "3")
        #expect(try counted() == Set(keys.prefix(3).map(\.publicKey)))

        // An event recorded by a build that keeps no census makes it untrusted until counted again.
        let foreign = try keys[3].sign(kind: 1, content: "older build", createdAt: 1_700_000_001)
        try l.pool.write { db in
            try db.execute(
                sql: "INSERT INTO events (id, pubkey, kind, created_at, first_relay, first_seen_at, raw) VALUES (?, ?, 1, ?, ?, 1, ?)",
                arguments: [foreign.id, foreign.pubkey, foreign.createdAt, a, foreign.rawJSON])
        }
        #expect(try counted() == nil)
        #expect(try l.reconcileItems(scope: scope, from: 0, maxItems: 100).items.count == 5)
        #expect(try counted() == Set(keys.map(\.publicKey)))
        try record(keys[3], "4")
        // What the census counted is what the table holds: the summary's count, without a walk.
        #expect(try l.pool.read { try AuthorCensus.read($0) }.events == 6)
        #expect(try l.authorEventCount(authors: keys.map(\.publicKey), kinds: nil) == 6)
        #expect(try l.authorEventCount(authors: [keys[3].publicKey], kinds: nil) == 2)

        // Past the limit only the flag is kept.
        try l.pool.write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO events (id, pubkey, kind, created_at, first_relay, first_seen_at, raw)
                    SELECT printf('%064x', i), printf('%064x', i), 1, 1, ?, 1, '{}' FROM n
                    """, arguments: [AuthorCensus.limit, a])
        }
        _ = try l.reconcileItems(scope: scope, from: 0, maxItems: 100)
        #expect(try counted() == nil)
        try record(SecretKey.generate(), "after")
        // Once a recording has seen it overflowed, nothing more is remembered or written.
        #expect(AuthorCensus.committed.withLock { $0[l.path] } == .overflowed)
        try record(SecretKey.generate(), "after that")
        #expect(try l.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM event_authors") } == 0)
        #expect(try l.pool.read { try Bool.fetchOne($0, sql: "SELECT overflowed FROM event_author_census") } == true)
    }

    @Test func aRecordingPastTheLimitLeavesOnlyTheFlag() throws {
        let l = try Ledger.temporary()
        let a: RelayURL = "ws://127.0.0.1:7001"
        let wraps = try (0...AuthorCensus.limit).map { i in
            ObservedEvent(event: try SecretKey.generate().sign(kind: 1059, content: "\(i)", createdAt: 1_700_000_000), relay: a)
        }
        _ = try l.record(Array(wraps.prefix(10)), writableRelays: [], now: 1)
        #expect(try !l.pool.read { try AuthorCensus.read($0) }.overflowed)
        _ = try l.record(Array(wraps.dropFirst(10)), writableRelays: [], now: 1)
        #expect(try l.pool.read { try AuthorCensus.read($0) }.overflowed)
        #expect(try l.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM event_authors") } == 0)
        #expect(AuthorCensus.committed.withLock { $0[l.path] } == .overflowed)
    }
}

/// Ids and keys read from the ledger's text by table lookup decode as `Bytes32(hex:)` does.
@Suite struct LedgerHexColumnTests {
    @Test func aColumnDecodesAsBytes32HexDoes() throws {
        let random = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let texts = [
            random, random.uppercased(), String(repeating: "f", count: 64), "0" + random.dropFirst(2) + "g", String(random.dropLast(2)), random + "00",
        ]
        let queue = try DatabaseQueue()
        try queue.read { db in
            for text in texts {
                let statement = try db.makeStatement(sql: "SELECT ?")
                // The cursor leaves the statement on its row, where the column is read.
                let rows = try Row.fetchCursor(statement, arguments: [text])
                #expect(try rows.next() != nil)
                #expect(Ledger.bytes32(statement.sqliteStatement, column: 0) == Bytes32(hex: text), "\(text)")
            }
        }
    }
}
