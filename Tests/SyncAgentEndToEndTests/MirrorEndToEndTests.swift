import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// The agent against real relays on 127.0.0.1: nostr-relay and nostr-sdk's LocalRelay.
@Suite(.serialized) struct MirrorEndToEndTests {
    @Test func onePrimaryToTwoBackups() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backupA = try await TestRelay.start(.nostrRelay)
        let backupB = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backupA.stopNow(); backupB.stopNow() }

        let alice = SecretKey.generate(), bob = SecretKey.generate(), stranger = SecretKey.generate()
        let wanted = try AgentFixture.notes(alice, count: 120) + AgentFixture.notes(bob, count: 80)
        try await AgentFixture.seed(wanted + AgentFixture.notes(stranger, count: 30), into: primary.url)

        let config = try f.configuration(
            pubkeys: [alice.publicKey, bob.publicKey],
            relays: [(primary.url, .primary), (backupA.url, .backup), (backupB.url, .backup)], archive: true)
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let summary = try await agent.runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.counters.new == 200)
        #expect(summary.counters.delivered[backupA.url] == 200)
        #expect(summary.counters.delivered[backupB.url] == 200)

        let expected = Set(wanted.map(\.id))
        let authors = [alice.publicKey, bob.publicKey, stranger.publicKey]
        #expect(try await AgentFixture.ids(on: backupA.url, authors: authors) == expected)
        #expect(try await AgentFixture.ids(on: backupB.url, authors: authors) == expected)

        // A second run finds nothing new and sends nothing again.
        let again = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(again.succeeded)
        #expect(again.counters.new == 0)
        #expect(again.counters.delivered.values.reduce(0, +) == 0)
        #expect(again.counters.duplicates.values.reduce(0, +) == 0)
    }

    @Test func kindsAndSinceAreHonoured() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.nostrRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        let old = try AgentFixture.notes(alice, count: 10, start: 1_600_000_000)
        let recent = try AgentFixture.notes(alice, count: 10, start: 1_700_000_000)
        let reactions = try AgentFixture.notes(alice, count: 10, kind: 7, start: 1_700_000_000)
        try await AgentFixture.seed(old + recent + reactions, into: primary.url)

        let config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)],
            kinds: [1], since: 1_650_000_000)
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set(recent.map(\.id)))
    }

    @Test func onlyTheNewestReplaceableVersionIsPushed() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        // nostr-relay keeps an older replaceable version that arrives later, beside the newer one.
        let primary = try await TestRelay.start(.nostrRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }

        let alice = SecretKey.generate()
        let newer = try alice.sign(kind: 0, content: #"{"name":"alice v2"}"#, createdAt: 1_700_000_200)
        let older = try alice.sign(kind: 0, content: #"{"name":"alice v1"}"#, createdAt: 1_700_000_100)
        let newerArticle = try alice.sign(kind: 30023, content: "v2", tags: [["d", "post"]], createdAt: 1_700_000_200)
        let olderArticle = try alice.sign(kind: 30023, content: "v1", tags: [["d", "post"]], createdAt: 1_700_000_100)
        let otherArticle = try alice.sign(kind: 30023, content: "other", tags: [["d", "other"]], createdAt: 1_700_000_000)
        try await AgentFixture.seed([newer, newerArticle, otherArticle], into: primary.url)
        try await AgentFixture.seed([older, olderArticle], into: primary.url)

        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == [newer.id, newerArticle.id, otherArticle.id])
    }

    /// A primary that serves forged events (a scripted relay: no real relay stores them): they
    /// are counted against that relay and never reach the ledger, the archive or the backup.
    @Test func forgedEventsFromAPrimaryAreNeverStoredArchivedOrDelivered() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let alice = SecretKey.generate()
        let good = try AgentFixture.notes(alice, count: 40)
        let badSig = try AgentFixture.notes(alice, count: 5, start: 1_700_100_000).map { e in
            let flipped = String(e.sig.prefix(20)) + (e.sig.dropFirst(20).first == "0" ? "1" : "0") + String(e.sig.dropFirst(21))
            return Event(id: e.id, pubkey: e.pubkey, createdAt: e.createdAt, kind: e.kind, tags: e.tags, content: e.content, sig: flipped)
        }
        let badID = try AgentFixture.notes(alice, count: 3, start: 1_700_200_000).map { e in
            Event(id: String(e.id.reversed()), pubkey: e.pubkey, createdAt: e.createdAt, kind: e.kind, tags: e.tags, content: e.content, sig: e.sig)
        }
        let store = ScriptedRelayStore(events: good + badSig + badID)
        let backup = try await TestRelay.start(.localRelay)
        defer { backup.stopNow() }
        try await ScriptedRelay.with(store.behaviour) { primary in
            let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], archive: true)
            let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
            #expect(summary.succeeded, "\(summary.text)")
            #expect(summary.counters.new == good.count)
            #expect(summary.invalid[primary.url] == badSig.count + badID.count, "\(summary.text)")
            #expect(try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]) == Set(good.map(\.id)))
            let ledger = try Ledger(path: config.ledgerPath.path)
            for e in badSig + badID { #expect(try ledger.presence(of: e).isEmpty) }
            let archived = try ArchiveCheck.ids(in: config.archive!.directory)
            #expect(Set(archived) == Set(good.map(\.id)))
            #expect(archived.count == good.count)
        }
    }

    @Test func twoBothRelaysStayInSyncLiveWithoutBouncing() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let left = try await TestRelay.start(.localRelay)
        let right = try await TestRelay.start(.nostrRelay)
        defer { left.stopNow(); right.stopNow() }

        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(left.url, .both), (right.url, .both)])
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
        let daemon = Task { try await agent.runDaemon() }
        defer { daemon.cancel() }

        // Published as soon as the daemon starts: what its live subscriptions miss, reconciliation finds.
        let toLeft = try (0..<5).map { try alice.sign(kind: 1, content: "left \($0)", createdAt: now + Int64($0)) }
        let toRight = try (0..<5).map { try alice.sign(kind: 1, content: "right \($0)", createdAt: now + Int64($0)) }
        try await AgentFixture.seed(toLeft, into: left.url)
        try await AgentFixture.seed(toRight, into: right.url)

        let all = Set((toLeft + toRight).map(\.id))
        let converged = try await AgentFixture.waitFor(seconds: 30) {
            let l = try await AgentFixture.ids(on: left.url, authors: [alice.publicKey])
            let r = try await AgentFixture.ids(on: right.url, authors: [alice.publicKey])
            return l == all && r == all
        }
        #expect(converged)
        daemon.cancel()
        _ = await daemon.result
        // Exactly once each way, never bounced back to where it came from.
        let snapshot = agent.counters.snapshot
        #expect(snapshot.delivered[left.url] == 5)
        #expect(snapshot.delivered[right.url] == 5)
        #expect(snapshot.duplicates.values.reduce(0, +) == 0)
        let ledger = try Ledger(path: config.ledgerPath.path)
        // The target may later be seen holding it (live echo): delivered or present, never pending.
        for (e, source, target) in toLeft.map({ ($0, left.url, right.url) }) + toRight.map({ ($0, right.url, left.url) }) {
            let p = try ledger.presence(of: e)
            #expect(p[source] == .present)
            #expect(p[target] == .delivered || p[target] == .present)
        }
    }
}
