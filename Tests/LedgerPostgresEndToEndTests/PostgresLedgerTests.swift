import Foundation
import Ledger
import LedgerPostgres
import NostrCore
import PeerHarness
import PostgresNIO
import Testing

/// What only the PostgreSQL ledger does: migrating once under concurrent starts, leases with
/// fencing, the agents' heartbeats. Against a real PostgreSQL 15 on 127.0.0.1.
@Suite(.enabled(if: postgresAvailable, "needs Debian's postgresql-15 (scripts/bootstrap installs it)"))
struct PostgresLedgerTests {
    @Test func agentsStartingTogetherOnANewDatabaseMigrateItOnce() async throws {
        let server = try await PostgresServer.shared()
        let settings = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase()))
        let ledgers = try await withThrowingTaskGroup(of: PostgresLedger.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresLedger.open(settings) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(ledgers.count == 4)
        // Every one of them works on the same tables.
        let key = SecretKey.generate()
        let e = try key.sign(kind: 1, content: "x", createdAt: 1_700_000_000)
        _ = try await ledgers[0].record([ObservedEvent(event: e, relay: "ws://127.0.0.1:1")], writableRelays: [], now: 1)
        for ledger in ledgers { #expect(try await ledger.eventCount() == 1) }
        for ledger in ledgers { await ledger.close() }
        // Opening again applies nothing new.
        let again = try await PostgresLedger.open(settings)
        #expect(try await again.eventCount() == 1)
        await again.close()
    }

    @Test func leasesAreTakenRenewedTakenOverWhenExpiredAndGivenBack() async throws {
        let ledger = try await openPostgresLedger()
        defer { Task { await ledger.close() } }
        let relay = "read:ws://127.0.0.1:7001"
        let first = try #require(try await ledger.acquire(relay, holder: "agent-a", period: .seconds(30)))
        #expect(first.generation == 1)
        // Held and unexpired: nobody else gets it, not even by asking again.
        #expect(try await ledger.acquire(relay, holder: "agent-b", period: .seconds(30)) == nil)
        #expect(try await ledger.renew(first, period: .seconds(30)))
        // A's lease runs out (as if A were paused past it): B takes it at the next generation.
        try await expire(relay, in: ledger)
        #expect(try await !ledger.renew(first, period: .seconds(30)))
        let second = try #require(try await ledger.acquire(relay, holder: "agent-b", period: .seconds(30)))
        #expect(second.generation == 2)
        #expect(try await ledger.leases().map(\.holder) == ["agent-b"])
        // B shuts down: everything it held is free at once.
        _ = try await ledger.acquire("deliver:ws://127.0.0.1:7002", holder: "agent-b", period: .seconds(30))
        #expect(try await ledger.releaseAll(holder: "agent-b") == 2)
        let third = try #require(try await ledger.acquire(relay, holder: "agent-a", period: .seconds(30)))
        #expect(third.generation == 3)
    }

    /// A holder paused past its lease (SIGSTOP, a stall, a partition) comes back and tries to
    /// write: the write carries its old generation and changes nothing; the attempt is recorded.
    @Test func aHolderThatLostItsLeaseCannotMoveACursorOrSettleDeliveries() async throws {
        let ledger = try await openPostgresLedger()
        defer { Task { await ledger.close() } }
        let relay: RelayURL = "ws://127.0.0.1:7001", backup: RelayURL = "ws://127.0.0.1:7002"
        let pubkey = String(repeating: "1", count: 64)
        let stale = try #require(try await ledger.acquire("read:\(relay)", holder: "agent-a", period: .seconds(30)))
        #expect(try await ledger.setCursor(BackfillCursor(until: 500), relay: relay, pubkeys: [pubkey], under: stale) == .written)

        try await expire("read:\(relay)", in: ledger)
        let fresh = try #require(try await ledger.acquire("read:\(relay)", holder: "agent-b", period: .seconds(30)))
        #expect(try await ledger.setCursor(BackfillCursor(until: 300), relay: relay, pubkeys: [pubkey], under: fresh) == .written)
        // A wakes up and would move the cursor back to where it was: refused, nothing changes.
        #expect(try await ledger.setCursor(BackfillCursor(until: 900), relay: relay, pubkeys: [pubkey], under: stale) == .fenced)
        #expect(try await ledger.cursors(relay: relay, pubkeys: [pubkey])[pubkey]?.until == 300)

        // The same for a backup relay's deliveries.
        let e = try SecretKey.generate().sign(kind: 1, content: "x", createdAt: 1_700_000_000)
        _ = try await ledger.record([ObservedEvent(event: e, relay: relay)], writableRelays: [backup], now: 1)
        let due = try await ledger.dueDeliveries(relay: backup, limit: 10, now: 2)
        let lost = try #require(try await ledger.acquire("deliver:\(backup)", holder: "agent-a", period: .seconds(30)))
        try await expire("deliver:\(backup)", in: ledger)
        let result = [DeliveryResult(eventID: e.id, relay: backup, outcome: .delivered, seq: due[0].seq)]
        #expect(try await ledger.recordDeliveryOutcomes(result, now: 3, under: lost) == .fenced)
        #expect(try await ledger.presence(of: e)[backup] == .pending)
        #expect(try await ledger.fencedWriteCount(holder: "agent-a") == 2)
        #expect(try await ledger.fencedWriteCount(holder: "agent-b") == 0)
    }

    /// One lease given back (an agent's excess) only at its own generation; what a stale holder
    /// tried is listed with the generation it carried.
    @Test func oneLeaseIsGivenBackOnlyAtItsGeneration() async throws {
        let ledger = try await openPostgresLedger()
        defer { Task { await ledger.close() } }
        let resource = "deliver:ws://127.0.0.1:7002"
        let first = try #require(try await ledger.acquire(resource, holder: "agent-a", period: .seconds(30)))
        #expect(try await ledger.release(first))
        #expect(try await ledger.leases().map(\.holder) == [nil])
        let second = try #require(try await ledger.acquire(resource, holder: "agent-b", period: .seconds(30)))
        #expect(second.generation == 2)
        // A's old token gives back nothing of B's.
        #expect(try await !ledger.release(first))
        #expect(try await ledger.leases().map(\.holder) == ["agent-b"])
        #expect(try await ledger.setArchivedThroughSeq(5, under: first) == .fenced)
        #expect(try await ledger.fencedWrites(holder: "agent-a").map { "\($0.resource)@\($0.generation)" } == ["\(resource)@1"])
    }

    @Test func agentsHeartbeatWithHostAndPID() async throws {
        let ledger = try await openPostgresLedger()
        defer { Task { await ledger.close() } }
        try await ledger.heartbeat(agent: "agent-a", host: "host-1", pid: 101)
        try await ledger.heartbeat(agent: "agent-b", host: "host-2", pid: 202)
        try await ledger.heartbeat(agent: "agent-a", host: "host-1", pid: 103)
        let agents = try await ledger.agents()
        #expect(agents.map(\.id) == ["agent-a", "agent-b"])
        #expect(agents.map(\.pid) == [103, 202])
        #expect(agents.allSatisfy { $0.secondsSinceHeartbeat >= 0 && $0.secondsSinceHeartbeat < 60 })
    }

    /// Ends a lease now by the database's clock, as time passing would.
    func expire(_ resource: String, in ledger: PostgresLedger) async throws {
        let server = try await PostgresServer.shared()
        try server.psql("UPDATE leases SET expires_at = now() - interval '1 second' WHERE resource = '\(resource)'", database: ledger.settings.database)
    }
}
