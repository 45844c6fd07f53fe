import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import Ledger

@Suite struct LedgerTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002", c: RelayURL = "ws://127.0.0.1:7003"
    let key = SecretKey.generate()

    func note(_ i: Int, kind: Int = 1, tags: [[String]] = [], at t: Int64? = nil) throws -> Event {
        try key.sign(kind: kind, content: "note \(i)", tags: tags, createdAt: t ?? 1_700_000_000 + Int64(i))
    }

    func due(_ l: Ledger, _ relay: RelayURL, now: Int64 = 2_000_000_000) throws -> [String] {
        try l.dueDeliveries(relay: relay, limit: 100_000, now: now).map(\.eventID)
    }

    @Test func neverSendsBackWhereItCameFrom() throws {
        let l = try Ledger.temporary()
        let e = try note(1)
        #expect(try l.record([ObservedEvent(event: e, relay: a)], writableRelays: [a, b], now: 1) == [.new(seq: 1)])
        #expect(try due(l, a).isEmpty)
        #expect(try due(l, b) == [e.id])
        // B turns out to have it already (seen live): nothing is owed any more.
        #expect(try l.record([ObservedEvent(event: e, relay: b)], writableRelays: [a, b], now: 2) == [.known])
        #expect(try due(l, b).isEmpty)
        #expect(try l.presence(of: e) == [a: .present, b: .present])
    }

    @Test func deliveredIsNeverDueAgainAcrossRestarts() throws {
        let l = try Ledger.temporary()
        let events = try (0..<10).map { try note($0) }
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 1)
        // Recorded in order into a fresh ledger: the i-th event has seq i + 1.
        let seqd = events.enumerated().map { (seq: Int64($0.offset + 1), id: $0.element.id) }
        try l.recordDeliveryOutcomes(
            seqd.prefix(6).map { DeliveryResult(eventID: $0.id, relay: b, outcome: .delivered, seq: $0.seq) }
                + seqd.dropFirst(6).prefix(2).map { DeliveryResult(eventID: $0.id, relay: b, outcome: .duplicate, seq: $0.seq) }, now: 2)
        let reopened = try Ledger(path: l.path)
        #expect(try due(reopened, b) == events.suffix(2).map(\.id))
        #expect(try due(reopened, c).count == 10)
        // The echo of a delivered event does not reopen it.
        _ = try reopened.record([ObservedEvent(event: events[0], relay: b)], writableRelays: [b, c], now: 3)
        #expect(try reopened.presence(of: events[0])[b] == .delivered)
        #expect(try reopened.pendingCount(relay: b) == 2)
    }

    @Test func outcomesKeyedBySeqSettleOnlyThatRelaysPendingRow() throws {
        let l = try Ledger.temporary()
        let events = try (0..<4).map { try note($0) }
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 1)
        let pending = try l.dueDeliveries(relay: b, limit: 10, now: 5)
        #expect(pending.map(\.eventID) == events.map(\.id))
        #expect(pending.allSatisfy { $0.kind == 1 && $0.rawJSON.contains($0.eventID) })
        try l.recordDeliveryOutcomes(
            [
                DeliveryResult(eventID: pending[0].eventID, relay: b, outcome: .delivered, seq: pending[0].seq),
                DeliveryResult(eventID: pending[1].eventID, relay: b, outcome: .rejected("blocked: no"), seq: pending[1].seq),
                DeliveryResult(eventID: pending[2].eventID, relay: b, outcome: .retry("rate-limited: slow", afterSeconds: 60), seq: pending[2].seq),
                // A seq of the source relay's row changes nothing: it is not pending there.
                DeliveryResult(eventID: pending[3].eventID, relay: a, outcome: .delivered, seq: pending[3].seq),
            ], now: 10)
        #expect(try l.presence(of: events[0]) == [a: .present, b: .delivered, c: .pending])
        #expect(try l.presence(of: events[1])[b] == .rejected)
        #expect(try l.presence(of: events[3])[a] == .present)
        #expect(try due(l, b, now: 11) == [events[3].id])
        #expect(try due(l, b, now: 71) == [events[2].id, events[3].id])
        #expect(try due(l, c).count == 4)
    }

    @Test func bothRelaysGetEachEventExactlyOnce() throws {
        let l = try Ledger.temporary()
        let fromA = try note(1), fromB = try note(2)
        _ = try l.record([ObservedEvent(event: fromA, relay: a), ObservedEvent(event: fromB, relay: b)], writableRelays: [a, b], now: 1)
        #expect(try due(l, a) == [fromB.id])
        #expect(try due(l, b) == [fromA.id])
        try l.recordDeliveryOutcomes(
            [
                DeliveryResult(eventID: fromB.id, relay: a, outcome: .delivered, seq: 2),
                DeliveryResult(eventID: fromA.id, relay: b, outcome: .delivered, seq: 1),
            ], now: 2)
        // Each relay's live feed now echoes the other's event back: nothing bounces.
        _ = try l.record([ObservedEvent(event: fromB, relay: a), ObservedEvent(event: fromA, relay: b)], writableRelays: [a, b], now: 3)
        #expect(try due(l, a).isEmpty && due(l, b).isEmpty)
    }

    @Test func replaceableOlderVersionIsStoredButNotPushed() throws {
        let l = try Ledger.temporary()
        let v2 = try note(0, kind: 0, at: 200), v1 = try note(1, kind: 0, at: 100), v3 = try note(2, kind: 0, at: 300)
        _ = try l.record([ObservedEvent(event: v2, relay: a)], writableRelays: [b], now: 1)
        #expect(try l.record([ObservedEvent(event: v1, relay: a)], writableRelays: [b], now: 1) == [.superseded(seq: 2)])
        #expect(try due(l, b) == [v2.id])
        // A newer version supersedes the pending older one.
        _ = try l.record([ObservedEvent(event: v3, relay: a)], writableRelays: [b], now: 1)
        #expect(try due(l, b) == [v3.id])
        #expect(try l.presence(of: v2)[b] == .superseded)
        #expect(try l.eventCount() == 3)
    }

    @Test func addressableVersionsAreKeyedByDTag() throws {
        let l = try Ledger.temporary()
        let postNew = try note(0, kind: 30023, tags: [["d", "post"]], at: 200)
        let postOld = try note(1, kind: 30023, tags: [["d", "post"]], at: 100)
        let other = try note(2, kind: 30023, tags: [["d", "other"]], at: 50)
        _ = try l.record([postNew, postOld, other].map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
        #expect(Set(try due(l, b)) == [postNew.id, other.id])
    }

    @Test func equalTimestampsKeepTheLowerID() throws {
        let l = try Ledger.temporary()
        let x = try note(0, kind: 3, at: 100), y = try note(1, kind: 3, at: 100)
        let (low, high) = x.id < y.id ? (x, y) : (y, x)
        _ = try l.record([ObservedEvent(event: high, relay: a), ObservedEvent(event: low, relay: a)], writableRelays: [b], now: 1)
        #expect(try due(l, b) == [low.id])
    }

    @Test func ephemeralAndExpired() throws {
        let l = try Ledger.temporary()
        let eph = try note(0, kind: 20001)
        let expired = try note(1, tags: [["expiration", "1000"]])
        let live = try note(2, tags: [["expiration", "3000000000"]])
        let out = try l.record([eph, expired, live].map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 2000)
        #expect(out == [.ephemeral, .expired(seq: 1), .new(seq: 2)])
        #expect(try due(l, b) == [live.id])
        #expect(try l.eventCount() == 2)
    }

    @Test func retriesWaitAndRejectionsAreFinal() throws {
        let l = try Ledger.temporary()
        let x = try note(0), y = try note(1)
        _ = try l.record([x, y].map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 100)
        try l.recordDeliveryOutcomes(
            [
                DeliveryResult(eventID: x.id, relay: b, outcome: .retry("rate-limited: slow down", afterSeconds: 60), seq: 1),
                DeliveryResult(eventID: y.id, relay: b, outcome: .rejected("blocked: not on allow list"), seq: 2),
            ], now: 100)
        #expect(try due(l, b, now: 159).isEmpty)
        let later = try l.dueDeliveries(relay: b, limit: 10, now: 160)
        #expect(later.map(\.eventID) == [x.id])
        #expect(later.first?.attempts == 1)
        #expect(later.first?.rawJSON == x.rawJSON)
        let stats = try #require(try l.relayStatistics().first { $0.relay == b })
        #expect(stats.rejected == 1 && stats.pending == 1)
        #expect(stats.rejectedByReason == ["blocked: not on allow list": 1])
    }

    @Test func newlyConfiguredBackupGetsHistoryOnce() throws {
        let l = try Ledger.temporary()
        let events = try (0..<5).map { try note($0) } + [try note(9, kind: 0, at: 1), try note(10, kind: 0, at: 2)]
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
        #expect(try l.ensureDeliveries(toWritableRelays: [b, c], now: 2) == 6)
        #expect(try due(l, c).count == 6)  // 5 notes + only the newest kind 0
        #expect(try l.ensureDeliveries(toWritableRelays: [b, c], now: 3) == 0)
    }

    @Test func cursorsRunsAndArchivePosition() throws {
        let l = try Ledger.temporary()
        try l.setCursor(BackfillCursor(until: 500, complete: false, newestSeen: 900), relay: a, pubkeys: ["p1", "p2"])
        try l.setCursor(BackfillCursor(until: nil, complete: true, newestSeen: 800), relay: a, pubkeys: ["p3"])
        try l.noteNewestSeen(950, relay: a, pubkeys: ["p1", "p3"])
        let cursors = try l.cursors(relay: a, pubkeys: ["p1", "p2", "p3", "p4"])
        #expect(cursors["p1"] == BackfillCursor(until: 500, complete: false, newestSeen: 950))
        #expect(cursors["p2"] == BackfillCursor(until: 500, complete: false, newestSeen: 900))
        #expect(cursors["p3"] == BackfillCursor(until: nil, complete: true, newestSeen: 950))
        #expect(cursors["p4"] == nil)
        let run = try l.beginRun(mode: "once", at: 1)
        try l.endRun(run, at: 2, exitCode: 0, summaryJSON: "{}")
        let events = try (0..<3).map { try note($0) }
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [], now: 1)
        #expect(try l.events(afterSeq: 1, limit: 10).map(\.id) == events.dropFirst().map(\.id))
        try l.setArchivedThroughSeq(2)
        #expect(try Ledger(path: l.path).archivedThroughSeq() == 2)
        #expect(try l.seq(ofEventID: events[2].id, createdAt: events[2].createdAt) == 3)
        let stats = try l.relayStatistics().first { $0.relay == a }
        #expect(stats?.backfillAuthorsTotal == 3 && stats?.backfillAuthorsComplete == 1)
    }

    @Test func rawReadsGiveTheStoredTextAsBytes() throws {
        let l = try Ledger.temporary()
        let events = try (0..<5).map { try key.sign(kind: 1, content: "note \($0): \"quoted\", emoji 🚀", createdAt: 1_700_000_000 + Int64($0)) }
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
        var rows: [(seq: Int64, createdAt: Int64, id: String, raw: String)] = []
        let count = try l.forEachRawEvent(afterSeq: 1, limit: 3) { row in
            rows.append((row.seq, row.createdAt, String(decoding: row.id, as: UTF8.self), String(decoding: row.raw, as: UTF8.self)))
        }
        #expect(count == 3)
        #expect(rows.map(\.raw) == events[1..<4].map(\.rawJSON))
        #expect(rows.map(\.id) == events[1..<4].map(\.id))
        #expect(rows.map(\.seq) == [2, 3, 4] && rows.map(\.createdAt) == events[1..<4].map(\.createdAt))
        #expect(try l.forEachRawEvent(afterSeq: 5, limit: 3) { _ in Issue.record("no event lies after the last") } == 0)
        let due = try l.dueDeliveries(relay: b, limit: 10, now: 5)
        #expect(due.map(\.rawJSON) == events.map(\.rawJSON))
        #expect(due.allSatisfy { if case .bytes = $0.text { true } else { false } }, "read back as bytes, without a String")
        #expect(due.map(\.eventID) == events.map(\.id) && due.map(\.kind) == [1, 1, 1, 1, 1] && due.map(\.attempts) == [0, 0, 0, 0, 0])
    }

    @Test func largeBatchInOneTransaction() throws {
        let l = try Ledger.temporary()
        let events = try (0..<10_000).map { try note($0) }
        let start = ContinuousClock.now
        let out = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 1)
        let elapsed = ContinuousClock.now - start
        #expect(out.allSatisfy { if case .new = $0 { true } else { false } })
        #expect(try l.pendingCount(relay: b) == 10_000)
        #expect(try l.pendingCount(relay: nil) == 20_000)
        print("ledger: recorded 10,000 events with 2 backups in \(elapsed) (debug build)")
    }

    /// The one-shot run and the delivery service ask these after every batch: on the (relay, seq)
    /// key they walked every already-delivered row first, so a long history made each batch slower.
    @Test func perBatchPendingQueriesUseThePendingIndex() throws {
        let l = try Ledger.temporary()
        for sql in [Ledger.dueDeliveriesSQL, Ledger.hasPendingSQL] {
            let plan = try l.queryPlan(sql)
            #expect(plan.contains("USING INDEX deliveries_pending"), "\(plan)")
            #expect(!plan.contains("PRIMARY KEY (relay"), "\(plan)")
        }
        let events = try (0..<3).map { try note($0) }
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
        #expect(try l.hasPending(relay: b) && !l.hasPending(relay: a) && !l.hasPending(relay: c))
        try l.recordDeliveryOutcomes(
            events.enumerated().map { DeliveryResult(eventID: $0.element.id, relay: b, outcome: .delivered, seq: Int64($0.offset + 1)) }, now: 2)
        #expect(try !l.hasPending(relay: b))
    }

    /// An older head's pending deliveries are superseded on every writable relay, by key.
    @Test func newerVersionSupersedesPendingOnEveryBackup() throws {
        let l = try Ledger.temporary()
        let old = try note(0, kind: 10002, at: 100), new = try note(1, kind: 10002, at: 200)
        _ = try l.record([ObservedEvent(event: old, relay: a)], writableRelays: [b, c], now: 1)
        _ = try l.record([ObservedEvent(event: new, relay: a)], writableRelays: [b, c], now: 2)
        #expect(try l.presence(of: old) == [a: .present, b: .superseded, c: .superseded])
        #expect(try due(l, b) == [new.id] && due(l, c) == [new.id])
    }
}
