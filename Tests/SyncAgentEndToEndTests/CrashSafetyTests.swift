import Foundation
import Ledger
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// The agent process killed with SIGKILL at random moments, and stopped with
/// SIGTERM, against real relays.
@Suite(.serialized) struct CrashSafetyTests {
    @Test func killNineDuringAMirrorLosesNothingAndResendsLittle() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        // 8,000 events, kills up to 1,000 apart (two delivery batches): the same shape as a larger
        // run (kills land from start-up to mid-batch, and some runs are left for the final --once)
        // at a fraction of the signing, seeding and syncing time.
        let total = 8_000
        let events = try AgentFixture.notes(alice, count: total, start: 1_690_000_000)
        try await AgentFixture.seed(events, into: primary.url)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], archive: true)
        let configPath = f.directory.appendingPathComponent("sync.json").path
        let log = f.directory.appendingPathComponent("agent.log")

        // The backup's count (NIP-45), read through a connection of the test's own.
        let counter = Relay(configuration: RelayConfiguration(url: backup.url), logger: AgentFixture.logger)
        let counting = Task { try await counter.run() }
        defer { counter.stop(); counting.cancel() }
        #expect(await counter.waitUntilConnected(timeout: .seconds(15)))
        func onBackup() async -> Int {
            let answer = await counter.exchange(
                .count(subscription: "crash", filters: [Filter(authors: [alice.publicKey])]), subscription: "crash", timeout: .seconds(5))
            if case let .count(_, n, _)? = answer { return n }
            return 0
        }

        var kills = 0
        var random = SeededGenerator.fromEnvironment()
        for _ in 0..<10 {
            let agent = try AgentProcess.start(["run", "--config", configPath, "--log-level", "warning"], logTo: log)
            // Each kill comes once a seeded number of further events (0 to 1,000: from start-up to
            // the middle of a batch) has reached the backup, or once all of them have.
            let target = min(events.count, await onBackup() + Int.random(in: 0...1_000, using: &random))
            #expect(try await Poll.until(timeout: .seconds(60), every: .milliseconds(20)) { await onBackup() >= target })
            agent.signal(SIGKILL)
            #expect(await agent.waitForExit(timeout: .seconds(10)) != nil)
            kills += 1
        }
        let (status, output) = try await AgentProcess.run(["run", "--once", "--config", configPath], logTo: log, timeout: .seconds(240))
        #expect(status == 0, "\(output.suffix(2_000))")

        let expected = Set(events.map(\.id))
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == expected)

        // Every re-send after a kill hits an event the backup already stored and is
        // recorded as duplicate: at most one in-flight batch per kill.
        let stats = try Ledger(path: config.ledgerPath.path).relayStatistics().first { $0.relay == backup.url }
        let duplicates = stats?.duplicate ?? 0
        #expect((stats?.delivered ?? 0) + duplicates == total)
        #expect(duplicates <= kills * DeliveryService.batchSize, "re-sent \(duplicates) after \(kills) kills")
        #expect(stats?.pending == 0)

        // The archive holds every event exactly once.
        let archived = try ArchiveCheck.ids(in: config.archive!.directory)
        #expect(archived.count == total)
        #expect(Set(archived) == expected)
    }

    @Test func sigtermDrainsAndExitsZero() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.nostrRelay)
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        try await AgentFixture.seed(try AgentFixture.notes(alice, count: 300), into: primary.url)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], archive: true)
        let agent = try AgentProcess.start(
            ["run", "--config", f.directory.appendingPathComponent("sync.json").path],
            logTo: f.directory.appendingPathComponent("agent.log"))
        // Stopped while it works: once the archive has an open segment.
        let archiving = try await AgentFixture.waitFor(seconds: 30) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: config.archive!.directory.path)) ?? []
            return names.contains { $0.hasSuffix(".part") }
        }
        #expect(archiving)
        agent.signal(SIGTERM)
        let status = await agent.waitForExit(timeout: .seconds(10))
        let output = (try? String(contentsOf: f.directory.appendingPathComponent("agent.log"), encoding: .utf8)) ?? ""
        #expect(status == 0, "\(output.suffix(3_000))")
        // The open segment was sealed: no .part left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: config.archive!.directory.path)
        #expect(!names.contains { $0.hasSuffix(".part") }, "\(names)")
        #expect(names.contains { $0.hasSuffix(".jsonl.zst") })
    }
}
