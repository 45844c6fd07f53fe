import Ledger
import PeerHarness
import Testing

/// The agent's view of its leases, without I/O: renewal timing, and stopping work before the
/// database can have given a lease away.
@Suite struct LeaseTableTests {
    @Test func renewsAfterAThirdOfThePeriodOnceAtATime() {
        var table = LeaseTable(period: 30, margin: 0.1)
        table.granted("r", generation: 4, requestSentAt: 100)
        #expect(table.tick(now: 105).isEmpty)
        #expect(table.tick(now: 110) == [.renew(resource: "r", generation: 4)])
        // Still unanswered: not asked twice.
        #expect(table.tick(now: 111).isEmpty)
        table.granted("r", generation: 4, requestSentAt: 110)
        #expect(table.generation(of: "r", at: 130) == 4)
        #expect(table.tick(now: 120) == [.renew(resource: "r", generation: 4)])
    }

    /// Trusted from when the request was sent, not when the answer came: a slow answer shortens
    /// the lease instead of stretching it past the database's expiry.
    @Test func stopsBeforeTheDatabaseCanHaveGivenTheLeaseAway() {
        var table = LeaseTable(period: 30, margin: 0.1)
        table.granted("r", generation: 1, requestSentAt: 0)
        #expect(table.generation(of: "r", at: 26.9) == 1)
        #expect(table.generation(of: "r", at: 27) == nil)
        _ = table.tick(now: 10)
        table.renewalFailed("r")
        // A holder paused from 11 to 40 wakes up: it stops, and has nothing to write under.
        #expect(table.tick(now: 40) == [.stop(resource: "r")])
        #expect(table.generation(of: "r", at: 40) == nil)
        #expect(table.held.isEmpty)
    }

    @Test func aRefusedRenewalStopsAtOnceAndReleaseGivesEverythingBack() {
        var table = LeaseTable(period: 10)
        table.granted("a", generation: 1, requestSentAt: 0)
        table.granted("b", generation: 7, requestSentAt: 0)
        #expect(table.refused("a") == [.stop(resource: "a")])
        #expect(table.refused("a").isEmpty)
        #expect(table.releaseAll() == [.stop(resource: "b"), .release(resource: "b", generation: 7)])
        #expect(table.held.isEmpty)
    }
}
