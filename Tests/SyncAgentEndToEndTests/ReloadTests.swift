import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// SIGHUP to the running `relaysync run`, as `systemctl reload` sends it, against real relays.
@Suite(.serialized) struct ReloadTests {
    @Test func sighupAppliesAddedRelaysAndPubkeysAndKeepsTheRunningConfigOnAnInvalidFile() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let first = try await TestRelay.start(.localRelay)
        let second = try await TestRelay.start(.nostrRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { first.stopNow(); second.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate(), bob = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let onFirst = try AgentFixture.notes(alice, count: 30, start: now - 5_000)
        let onSecond = try AgentFixture.notes(alice, count: 20, start: now - 9_000) + AgentFixture.notes(bob, count: 10, start: now - 7_000)
        try await AgentFixture.seed(onFirst, into: first.url)
        try await AgentFixture.seed(onSecond, into: second.url)

        _ = try f.configuration(pubkeys: [alice.publicKey], relays: [(first.url, .primary), (backup.url, .backup)], reconcileInterval: "2s")
        let path = f.directory.appendingPathComponent("sync.json")
        let log = f.directory.appendingPathComponent("agent.log")
        let agent = try AgentProcess.start(["run", "--config", path.path, "--log-level", "notice"], logTo: log)
        defer { if agent.process.isRunning { agent.signal(SIGKILL) } }
        let both = [alice.publicKey, bob.publicKey]
        #expect(try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: both) == Set(onFirst.map(\.id)) })

        // A broken file is refused; the agent goes on with what it runs.
        try #"{"pubkeys": ["#.write(to: path, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(
            try await AgentFixture.waitFor(seconds: 15) {
                (try? String(contentsOf: log, encoding: .utf8))?.contains("configuration reload refused") ?? false
            })
        #expect(agent.process.isRunning)

        _ = try f.configuration(
            pubkeys: [alice.publicKey, bob.publicKey], relays: [(first.url, .primary), (second.url, .primary), (backup.url, .backup)],
            reconcileInterval: "2s")
        agent.signal(SIGHUP)
        let all = Set((onFirst + onSecond).map(\.id))
        let reloaded = try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: both) == all }
        #expect(reloaded, "\(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(2_000))")

        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func sighupAppliesTheFilesLogLevel() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 5, start: Int64(Date().timeIntervalSince1970) - 1_000)
        try await AgentFixture.seed(notes, into: primary.url)
        let relays: [(RelayURL, RelayRole)] = [(primary.url, .primary), (backup.url, .backup)]
        _ = try f.configuration(pubkeys: [alice.publicKey], relays: relays, reconcileInterval: "1s", extra: [("log_level", .string("notice"))])
        let path = f.directory.appendingPathComponent("sync.json")
        let log = f.directory.appendingPathComponent("agent.log")
        let agent = try AgentProcess.start(["run", "--config", path.path], logTo: log)
        defer { if agent.process.isRunning { agent.signal(SIGKILL) } }
        func logged() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set(notes.map(\.id)) })
        // Reconciliations ran (at start and every second) and logged nothing below notice.
        #expect(!logged().contains("reconciliation found no differences"), "\(logged().suffix(2_000))")

        _ = try f.configuration(pubkeys: [alice.publicKey], relays: relays, reconcileInterval: "1s", extra: [("log_level", .string("debug"))])
        agent.signal(SIGHUP)
        let debugLogged = try await AgentFixture.waitFor(seconds: 30) { logged().contains("reconciliation found no differences") }
        #expect(debugLogged, "\(logged().suffix(2_000))")

        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func sighupAppliesTheFilesLogFormat() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        defer { primary.stopNow() }
        let alice = SecretKey.generate()
        let relays: [(RelayURL, RelayRole)] = [(primary.url, .primary)]
        _ = try f.configuration(pubkeys: [alice.publicKey], relays: relays, reconcileInterval: "1s", extra: [("log_level", .string("debug"))])
        let path = f.directory.appendingPathComponent("sync.json")
        let log = f.directory.appendingPathComponent("agent.log")
        let agent = try AgentProcess.start(["run", "--config", path.path], logTo: log)
        defer { if agent.process.isRunning { agent.signal(SIGKILL) } }
        func lines() -> [Substring] { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n") }
        let reconciled = "reconciliation found no differences"
        #expect(try await AgentFixture.waitFor(seconds: 30) { lines().contains { $0.contains(reconciled) } }, "\(lines().suffix(20))")
        #expect(!lines().contains { $0.hasPrefix("{") }, "text lines before the reload")

        _ = try f.configuration(
            pubkeys: [alice.publicKey], relays: relays, reconcileInterval: "1s",
            extra: [("log_level", .string("debug")), ("log_format", .string("json"))])
        agent.signal(SIGHUP)
        // The daemon's own lines after the reload are JSON objects.
        let json = try await AgentFixture.waitFor(seconds: 30) {
            lines().contains { $0.hasPrefix(#"{"timestamp":"#) && $0.contains(reconciled) }
        }
        #expect(json, "\(lines().suffix(20))")

        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(timeout: .seconds(15)) == 0)
    }
}
