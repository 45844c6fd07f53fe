import Foundation
import LedgerPostgres
import PeerHarness
import Testing

extension PostgresLedgerTests {
    /// A holder renews all its leases in one statement: those still its own at their generation
    /// are extended; one that expired and was taken over, or was given back, is not, and is
    /// reported lost by its absence. Expired leases are listed for takeover.
    @Test func aHolderRenewsAllItsLeasesInOneStatementAndLearnsWhichItLost() async throws {
        let ledger = try await openPostgresLedger()
        defer { Task { await ledger.close() } }
        let resources = (0..<4).map { "read:ws://127.0.0.1:\(7100 + $0)" }
        var tokens: [LeaseToken] = []
        for r in resources { tokens.append(try #require(try await ledger.acquire(r, holder: "agent-a", period: .seconds(2)))) }
        #expect(try await ledger.renew([], period: .seconds(30)).isEmpty)
        #expect(try await ledger.renew(tokens, period: .seconds(30)) == Set(resources))
        #expect(try await ledger.leases().allSatisfy { $0.expiresIn > 25 })
        // resources[1] runs out and B takes it; resources[2] is given back by another path (A's restart).
        try await expire(resources[1], in: ledger)
        #expect(try await ledger.expiredLeases(prefix: "read:", limit: 10) == [resources[1]])
        #expect(try await ledger.expiredLeases(prefix: "deliver:", limit: 10).isEmpty)
        let taken = try #require(try await ledger.acquire(resources[1], holder: "agent-b", period: .seconds(30)))
        #expect(taken.generation == 2)
        try await expire(resources[2], in: ledger)
        let renewed = try await ledger.renew(tokens, period: .seconds(30))
        #expect(renewed == [resources[0], resources[3]])
        // B's lease was not extended by A's statement, and A's stale token cannot renew it.
        #expect(try await ledger.renew([tokens[1]], period: .seconds(30)).isEmpty)
        #expect(try await ledger.leases().first { $0.resource == resources[1] }?.holder == "agent-b")
        #expect(try await ledger.renew([taken], period: .seconds(30)) == [resources[1]])
    }
}
