import Foundation
import GRDB
import NostrCore
import PeerHarness
import Synchronization
import Testing

@testable import Ledger

/// The ledger's single writer: concurrent requests share transactions, each in its own
/// savepoint, and each caller learns its own result only after the commit.
@Suite(.timeLimit(.minutes(1))) struct LedgerWriterTests {
    struct Refused: Error {}

    @Test func aFailingRequestRollsBackAloneAndTheOthersCommit() async throws {
        let l = try Ledger.temporary()
        let key = SecretKey.generate()
        let events = try (0..<40).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for (i, e) in events.enumerated() {
                group.addTask {
                    do {
                        _ = try await l.writer.write("test") { db in
                            _ = try l.recordForTest(db, e)
                            if i == 7 { throw Refused() }
                        }
                        return (i, true)
                    } catch {
                        return (i, false)
                    }
                }
            }
            var out: [Int: Bool] = [:]
            for await (i, ok) in group { out[i] = ok }
            return out
        }
        #expect(results.filter { !$0.value }.map(\.key) == [7])
        #expect(try l.eventCount() == 39, "the refused request's insert was rolled back with its savepoint")
        #expect(try l.seq(ofEventID: events[7].id, createdAt: events[7].createdAt) == nil)
        let commits = l.writer.commits
        #expect(commits.requests == 40 && commits.transactions >= 1 && commits.transactions <= 40)
    }

    /// A request alone in its transaction runs without a savepoint: failing, it rolls the whole
    /// transaction back, so what it wrote before failing is gone, and the writer goes on.
    @Test func aFailingRequestAloneRollsBackItsTransaction() async throws {
        let l = try Ledger.temporary()
        let key = SecretKey.generate()
        let events = try (0..<3).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        _ = try await l.writer.write("test") { db in try l.recordForTest(db, events[0]) }
        await #expect(throws: (any Error).self) {
            try await l.writer.write("test") { db in
                _ = try l.recordForTest(db, events[1])
                throw Refused()
            }
        }
        #expect(try l.seq(ofEventID: events[1].id, createdAt: events[1].createdAt) == nil)
        let failed = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            l.writer.writeLater(
                "test", within: .milliseconds(10),
                { db in
                    _ = try l.recordForTest(db, events[1])
                    throw Refused()
                }
            ) { error in c.resume(returning: error != nil) }
        }
        #expect(failed)
        #expect(try l.seq(ofEventID: events[1].id, createdAt: events[1].createdAt) == nil)
        _ = try await l.writer.write("test") { db in try l.recordForTest(db, events[2]) }
        #expect(try l.eventCount() == 2)
        #expect(l.writer.commits.requests == 4)
    }

    /// The writer's prepared transaction statements: a savepoint with no transaction open is
    /// refused rather than left to start and commit one of its own, and a failing body's
    /// savepoint undoes only that body's writes.
    @Test func aSavepointNeedsTheGroupTransactionAndUndoesOnlyItsOwnWrites() throws {
        let l = try Ledger.temporary()
        let key = SecretKey.generate()
        let events = try (0..<3).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        let outcomes = try l.pool.writeWithoutTransaction { db -> [String] in
            var outcomes: [String] = []
            do {
                try PreparedTransaction.inSavepoint(db) { _ = try l.recordForTest(db, events[0]) }
                outcomes.append("ran outside a transaction")
            } catch is PreparedTransaction.TransactionEnded {
                outcomes.append("refused")
            }
            outcomes.append(db.isInsideTransaction ? "open" : "none open")
            try PreparedTransaction.begin(db)
            try PreparedTransaction.inSavepoint(db) { _ = try l.recordForTest(db, events[1]) }
            do {
                try PreparedTransaction.inSavepoint(db) {
                    _ = try l.recordForTest(db, events[2])
                    throw Refused()
                }
            } catch is Refused {
                outcomes.append("failed alone")
            }
            try PreparedTransaction.commit(db)
            outcomes.append(db.isInsideTransaction ? "open" : "none open")
            return outcomes
        }
        #expect(outcomes == ["refused", "none open", "failed alone", "none open"])
        #expect(try l.eventCount() == 1)
        #expect(try l.seq(ofEventID: events[1].id, createdAt: events[1].createdAt) != nil)
    }

    /// A relay's last success is stamped in the live note's transaction; an unchanged stamp
    /// writes nothing, and a stamp that goes back (the clock was set back) is still taken.
    @Test func aRelaysLastSuccessFollowsTheStamps() async throws {
        let l = try Ledger.temporary()
        let relay = RelayURL("ws://127.0.0.1:7777")
        func stamped() throws -> Int64? { try l.relayStatistics().first { $0.relay == relay }?.lastSuccessAt }
        for (time, changes) in [(Int64(100), 1), (100, 0), (101, 1), (50, 1)] {
            let changed = try await l.writer.write("test") { db in
                try Ledger.noteRelaySuccess(db, relay, at: time)
                return db.changesCount
            }
            #expect(changed == changes, "stamp \(time)")
            #expect(try stamped() == time)
        }
    }

    @Test func recordThroughTheWriterMatchesTheDirectPath() async throws {
        let direct = try Ledger.temporary(), grouped = try Ledger.temporary()
        let key = SecretKey.generate()
        let profileOld = try key.sign(kind: 0, content: "{}", createdAt: 1_700_000_000)
        let profileNew = try key.sign(kind: 0, content: "{\"a\":1}", createdAt: 1_700_000_100)
        let note = try key.sign(kind: 1, content: "n", createdAt: 1_700_000_050)
        let batch = [profileNew, note, profileOld].map { ObservedEvent(event: $0, relay: "ws://a") }
        // A synchronous closure picks the direct (blocking) overload.
        let a = try { () throws -> [RecordOutcome] in try direct.record(batch, writableRelays: ["ws://b"], now: 5) }()
        let b = try await grouped.record(batch, writableRelays: ["ws://b"], now: 5)
        #expect(a == b)
        #expect(try direct.presence(of: profileOld) == grouped.presence(of: profileOld))
    }

    @Test func aLaterWriteRidesTheNextTransactionOrCommitsOnItsOwn() async throws {
        let l = try Ledger.temporary()
        let key = SecretKey.generate()
        let first = try key.sign(kind: 1, content: "later", createdAt: 1_700_000_000)
        let second = try key.sign(kind: 1, content: "now", createdAt: 1_700_000_001)
        let done = Mutex<[Bool]>([])
        // Long enough that only the next write can commit it.
        l.writer.writeLater("test", within: .seconds(60), { db in _ = try l.recordForTest(db, first) }) { error in
            done.withLock { $0.append(error == nil) }
        }
        #expect(try l.eventCount() == 0, "nothing commits before a transaction comes")
        _ = try await l.writer.write("test") { db in try l.recordForTest(db, second) }
        #expect(done.withLock { $0 } == [true], "told once, before the next write's caller resumes")
        #expect(try l.eventCount() == 2)
        #expect(l.writer.commits.transactions == 1)

        let third = try key.sign(kind: 1, content: "alone", createdAt: 1_700_000_002)
        // Nothing else is written: its own deadline commits it (the suite's time limit bounds the wait).
        let ok = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            l.writer.writeLater("test", within: .milliseconds(10), { db in _ = try l.recordForTest(db, third) }) { error in c.resume(returning: error == nil) }
        }
        #expect(ok)
        #expect(try l.eventCount() == 3)

        // A failing later write is told so and takes nothing else down with it.
        l.writer.writeLater("test", within: .seconds(60), { _ in throw Refused() }) { error in done.withLock { $0.append(error == nil) } }
        try await l.commitWaitingWrites()
        #expect(done.withLock { $0 } == [true, false])
    }

    @Test func aRecordCommitHandsOverWhatItMadeDue() async throws {
        let l = try Ledger.temporary()
        let handed = Mutex<[FreshDeliveries]>([])
        l.handOffFreshDeliveries { fresh in handed.withLock { $0.append(fresh) } }
        let key = SecretKey.generate()
        let note = try key.sign(kind: 1, content: "n", createdAt: 1_700_000_000)
        let profileOld = try key.sign(kind: 0, content: "{}", createdAt: 1_700_000_000)
        let profileNew = try key.sign(kind: 0, content: "{\"a\":1}", createdAt: 1_700_000_100)
        let relays: [RelayURL] = ["ws://b", "ws://c"]
        _ = try await l.record(
            [ObservedEvent(event: note, relay: "ws://a"), ObservedEvent(event: profileOld, relay: "ws://a")], writableRelays: relays, now: 5)
        var fresh = try #require(handed.withLock { $0.last })
        #expect(fresh.due["ws://b"]?.map(\.eventID) == [note.id, profileOld.id])
        #expect(fresh.due["ws://c"]?.map(\.rawJSON) == [note.rawJSON, profileOld.rawJSON])
        #expect(fresh.withdrawn.isEmpty && !fresh.unsettled)
        let handedDue = try l.dueDeliveries(relay: "ws://b", limit: 10, now: 5).map(\.seq)
        #expect(fresh.due["ws://b"]?.map(\.seq) == handedDue, "the rows handed over are the ledger's due rows")

        // The newer version supersedes the older: withdrawn where it was pending. Seen again on c: withdrawn there.
        _ = try await l.record(
            [ObservedEvent(event: profileNew, relay: "ws://a"), ObservedEvent(event: note, relay: "ws://c")], writableRelays: relays, now: 6)
        fresh = try #require(handed.withLock { $0.last })
        let oldSeq = try #require(try l.seq(ofEventID: profileOld.id, createdAt: profileOld.createdAt))
        let noteSeq = try #require(try l.seq(ofEventID: note.id, createdAt: note.createdAt))
        #expect(fresh.due["ws://b"]?.map(\.eventID) == [profileNew.id])
        #expect(fresh.withdrawn["ws://b"] == [oldSeq])
        #expect(Set(fresh.withdrawn["ws://c"] ?? []) == [oldSeq, noteSeq])

        // Nothing new, nothing withdrawn: nobody is told.
        let count = handed.withLock { $0.count }
        _ = try await l.record([ObservedEvent(event: note, relay: "ws://a")], writableRelays: relays, now: 7)
        #expect(handed.withLock { $0.count } == count)
    }
}

extension Ledger {
    /// One plain insert, for tests of the writer itself.
    func recordForTest(_ db: Database, _ e: Event) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO events (id, pubkey, kind, created_at, first_relay, first_seen_at, raw) VALUES (?, ?, ?, ?, 'ws://t', 0, ?)
                """, arguments: [e.id, e.pubkey, e.kind, e.createdAt, e.rawJSON])
        return db.lastInsertedRowID
    }
}
