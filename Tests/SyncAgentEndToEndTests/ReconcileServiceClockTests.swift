import Foundation
import Ledger
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `ReconcileService` on a clock the test moves: the fifteen-minute interval passes when the
/// test says so, and only then does the service compare the relay again.
@Suite struct ReconcileServiceClockTests {
    @Test(.timeLimit(.minutes(1)))
    func theIntervalPassesOnTheServicesClock() async throws {
        let relay = try await TestRelay.start(.localRelay)
        defer { relay.stopNow() }
        let key = SecretKey.generate()
        try await AgentFixture.seed(try AgentFixture.notes(key, count: 5), into: relay.url)
        let ledger = try Ledger.temporary()
        let client = Relay(configuration: RelayConfiguration(url: relay.url), logger: AgentFixture.logger)
        let clock = ManualClock()
        let service = ReconcileService(
            job: ReconcileJobTests.job(client, ledger: ledger, authors: [key.publicKey], writable: false), interval: .seconds(900),
            afterBackfill: nil, logger: AgentFixture.logger, clock: clock)
        let running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await client.run() }
                group.addTask { try await service.run() }
            }
        }
        defer { running.cancel() }

        // The first comparison runs when the connection opens.
        #expect(try await AgentFixture.waitFor(seconds: 30) { try ledger.eventCount() == 5 })
        let later = try AgentFixture.notes(key, count: 1, start: 1_700_100_000)
        try await AgentFixture.seed(later, into: relay.url)
        // Asleep until the interval: a minute of the clock wakes nothing.
        #expect(try await AgentFixture.waitFor(seconds: 10) { clock.sleeping > 0 })
        clock.advance(by: .seconds(60))
        #expect(clock.sleeping > 0)
        #expect(try ledger.eventCount() == 5)
        // Fifteen minutes of the clock: the service compares again and finds the new note.
        clock.advance(by: .seconds(900))
        #expect(try await AgentFixture.waitFor(seconds: 30) { try ledger.eventCount() == 6 })
    }
}
