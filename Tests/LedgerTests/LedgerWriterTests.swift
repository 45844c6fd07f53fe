import Foundation
import GRDB
import NostrCore
import PeerHarness
import Testing

@testable import Ledger

/// The ledger's single writer: concurrent requests share transactions, each in its own
/// savepoint, and each caller learns its own result only after the commit.
@Suite struct LedgerWriterTests {
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
