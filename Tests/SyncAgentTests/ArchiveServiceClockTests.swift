import Archive
import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

/// `ArchiveService` on a clock the test moves: it looks for new events every two seconds of that
/// clock, lets them gather for its gathering time (an hour here), and archives them when the
/// hour has passed on the clock.
@Suite struct ArchiveServiceClockTests {
    @Test(.timeLimit(.minutes(1)))
    func itArchivesWhenItsClockSaysTheGatheringTimeHasPassed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-archive-clock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try Ledger.temporary()
        let counters = AgentCounters()
        let wake = WakeSignal()
        let clock = ManualClock()
        let service = ArchiveService(
            configuration: ArchiveConfiguration(directory: directory), ledger: ledger, counters: counters, wake: wake,
            logger: AgentFixture.logger, gather: .seconds(3_600), clock: clock)
        let running = Task { try await service.run() }
        defer { running.cancel() }

        // Idle, the service waits for a wake-up or two seconds of its clock.
        #expect(try await Poll.until(timeout: .seconds(20), every: .milliseconds(20)) { clock.sleeping == 1 })
        let key = SecretKey.generate()
        let notes = try AgentFixture.notes(key, count: 10)
        _ = try await ledger.record(notes.map { ObservedEvent(event: $0, relay: "ws://127.0.0.1:7001") }, writableRelays: [], now: 1)
        // Unsignalled, the new notes wait for those two seconds, then gather for an hour.
        clock.advance(by: .seconds(1))
        #expect(clock.sleeping == 1)
        clock.advance(by: .seconds(1))
        #expect(try await Poll.until(timeout: .seconds(20), every: .milliseconds(20)) { clock.sleeping == 1 })
        #expect(await counters.snapshot.archived == 0)
        clock.advance(by: .seconds(3_600))
        #expect(try await Poll.until(timeout: .seconds(20), every: .milliseconds(20)) { await counters.snapshot.archived == 10 })
    }
}
