import Foundation
import GRDB
import NostrCore
import PeerHarness
import Testing

@testable import Ledger

/// A ledger written before "v3-events-unique-by-time" keeps every event, seq and delivery state.
@Suite final class LedgerMigrationTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002"
    let key = SecretKey.generate()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-ledger-v2-\(UUID().uuidString)")

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Builds a v2 ledger the way v2 wrote it: three events from `a`, owed to `b`, the second
    /// already delivered, and an AUTOINCREMENT mark above the last seq (a row once removed).
    func v2Ledger(_ events: [Event]) throws -> String {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("ledger.sqlite").path
        let pool = try DatabasePool(path: path)
        try LedgerSchema.migrator.migrate(pool, upTo: "v2-discovery")
        try pool.write { db in
            for (i, e) in events.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO events (seq, id, pubkey, kind, created_at, first_relay, first_seen_at, raw) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
                        """, arguments: [i + 1, e.id, e.pubkey, e.kind, e.createdAt, a, e.rawJSON])
                try db.execute(sql: "INSERT INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, 'present', 1)", arguments: [a, i + 1])
                try db.execute(
                    sql: "INSERT INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, ?, 1)",
                    arguments: [b, i + 1, i == 1 ? "delivered" : "pending"])
            }
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = 7 WHERE name = 'events'")
        }
        try pool.close()
        return path
    }

    @Test func rebuildKeepsEventsSeqsAndDeliveries() throws {
        let events = try (0..<3).map { try key.sign(kind: 1, content: "old \($0)", createdAt: 1_700_000_000 + Int64($0)) }
        let l = try Ledger(path: try v2Ledger(events))
        #expect(try l.eventCount() == 3)
        #expect(try l.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_author_time'") } == 0)
        #expect(try l.events(afterSeq: 0, limit: 10).map(\.id) == events.map(\.id))
        #expect(try l.seq(ofEventID: events[2].id, createdAt: events[2].createdAt) == 3)
        #expect(try l.presence(of: events[1]) == [a: .present, b: .delivered])
        #expect(try l.dueDeliveries(relay: b, limit: 10, now: 2).map(\.seq) == [1, 3])
        // A known event is still recognised, and a new one never reuses a seq.
        let fresh = try key.sign(kind: 1, content: "new", createdAt: 1_700_000_100)
        #expect(
            try l.record([ObservedEvent(event: fresh, relay: a), ObservedEvent(event: events[0], relay: b)], writableRelays: [b], now: 3)
                == [.new(seq: 8), .known])
        // events[0] turned out to be on b already: only the third old event and the new one are owed.
        #expect(try l.dueDeliveries(relay: b, limit: 10, now: 4).map(\.seq) == [3, 8])
    }

    /// v8 counts the authors of the events already there, or only that there are more than 4,096.
    @Test func theAuthorCensusCountsTheEventsAlreadyRecorded() throws {
        func census(authors: Int) throws -> AuthorCensus {
            let path = dir.appendingPathComponent("census-\(authors).sqlite").path
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let pool = try DatabasePool(path: path)
            try LedgerSchema.migrator.migrate(pool, upTo: "v7-media-blobs")
            try pool.write { db in
                try db.execute(
                    sql: """
                        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                        INSERT INTO events (id, pubkey, kind, created_at, first_relay, first_seen_at, raw)
                        SELECT printf('%064x', i), printf('%064x', i % ?), 1, 1700000000, 'ws://127.0.0.1:7001', 1, '{}' FROM n
                        """, arguments: [authors * 2 - 1, authors])
            }
            try pool.close()
            let l = try Ledger(path: path)
            return try l.pool.read { try AuthorCensus.read($0) }
        }
        let few = try census(authors: 3)
        #expect(few.authors == Set((0..<3).map { Bytes32(w0: 0, w1: 0, w2: 0, w3: UInt64($0)) }) && !few.overflowed && few.events == 6)
        #expect(try census(authors: AuthorCensus.limit).authors.count == AuthorCensus.limit)
        #expect(try census(authors: AuthorCensus.limit + 1).overflowed)
    }

    @Test func eventsAreUniqueByTimeAndIDWithNoIndexOnTheIDAlone() throws {
        // And none by author either (v4): no query reads events by author.
        let l = try Ledger.temporary()
        let plan = try l.queryPlan(Ledger.findSeqSQL)
        #expect(plan.contains("INDEX sqlite_autoindex_events") && plan.contains("created_at=? AND id=?"), "\(plan)")
        let indexed = try l.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name FROM pragma_index_list('events')").map { row -> [String] in
                let name: String = row[0]
                return try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [name])
            }
        }
        #expect(indexed.contains(["created_at", "id"]) && !indexed.contains(["id"]), "\(indexed)")
        #expect(!indexed.contains(["pubkey", "created_at"]), "\(indexed)")
    }
}
