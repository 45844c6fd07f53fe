import Archive
import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// What was sent to a person, against real relays, with nostr-sdk as the other people's client:
/// NIP-17 private messages (gift wraps) and NIP-04 messages to U sit on U's DM relay, a LocalRelay
/// that serves reads only after NIP-42 AUTH and gift wraps only to the pubkey they are addressed to
/// (nostr-sdk's `auth_dm`). U's DM relay is found through an indexer (kind 10050); the agent reads it
/// with U's key, mirrors to a backup and archives; the DM relay is then gone, and U's own nostr-sdk
/// client decrypts every message from a relay the archive was restored into.
@Suite(.serialized) struct InboxEndToEndTests {
    struct Peers {
        let indexer: TestRelay, dm: TestRelay, backup: TestRelay
        func stop() { indexer.stopNow(); dm.stopNow(); backup.stopNow() }
    }

    static func start() async throws -> Peers {
        Peers(
            indexer: try await TestRelay.start(.localRelay),
            dm: try await TestRelay.start(.localRelay, options: .init(authRead: true, authDM: true)),
            backup: try await TestRelay.start(.localRelay))
    }

    /// U's key in a file of U's (mode 600), named in `inbox.keys` when `withKey`.
    static func setUp(_ f: AgentFixture, _ peers: Peers, withKey: Bool) throws -> (u: SecretKey, keyFile: String, config: SyncConfiguration) {
        let u = SecretKey.generate()
        let keyFile = f.directory.appendingPathComponent("u.key").path
        try u.hex.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        _ = try NostrSDKTool.publishRelayLists(to: [peers.indexer.url], keyFile: keyFile, dmRelays: [peers.dm.url], write: [peers.indexer.url])
        let inbox: JSONValue = withKey ? .object([("keys", .object([(u.publicKey, .string("u.key"))]))]) : .object([])
        let config = try f.configuration(
            pubkeys: [u.publicKey], relays: [(peers.backup.url, .backup)], archive: true, indexers: [peers.indexer.url], extra: [("inbox", inbox)])
        return (u, keyFile, config)
    }

    @Test func privateMessagesAreBackedUpWithTheRecipientsKeyAndRestoreReadable() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let peers = try await Self.start()
        defer { peers.stop() }
        let (u, keyFile, config) = try Self.setUp(f, peers, withKey: true)
        let notes = try AgentFixture.notes(u, count: 20, start: Int64(Date().timeIntervalSince1970) - 5_000)
        try await AgentFixture.seed(notes, into: peers.indexer.url)
        let sender = f.directory.appendingPathComponent("sender.key").path
        let sent = try NostrSDKTool.dmSend(relay: peers.dm.url, senderKeyFile: sender, receiver: u.publicKey, count: 30, nip04: 20, seed: 7)
        #expect(sent.sentGiftWraps == 30 && sent.sentNip04 == 20)
        // The DM relay releases them only after AUTH as U: unauthenticated, even U's client gets none.
        let unauthenticated = try NostrSDKTool.dmRead(relay: peers.dm.url, receiverKeyFile: keyFile, auth: false)
        #expect(unauthenticated.giftWraps + unauthenticated.nip04 == 0)
        #expect(try NostrSDKTool.dmRead(relay: peers.dm.url, receiverKeyFile: keyFile, auth: true).texts == sent.texts.sorted())

        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.scopeEvents["inbox"] == 50, "\(summary.text)")
        let mirrored = try NostrSDKTool.dmRead(relay: peers.backup.url, receiverKeyFile: keyFile)
        #expect(mirrored.giftWraps == 30 && mirrored.nip04 == 20)
        #expect(mirrored.texts == sent.texts.sorted())
        #expect(try await AgentFixture.ids(on: peers.backup.url, authors: [u.publicKey]).isSuperset(of: notes.map(\.id)))
        let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
        #expect(status.scopes.first { $0.scope == "inbox" }?.events == 50)
        #expect(status.scopes.allSatisfy { $0.problems.isEmpty })

        // The DM relay is lost; the archive restores into a fresh relay that U's client reads.
        peers.dm.stopNow()
        let segments = try FileManager.default.contentsOfDirectory(at: config.archive!.directory, includingPropertiesForKeys: nil)
        #expect(try NostrSDKTool.dmRead(eventFiles: segments.map(\.path), receiverKeyFile: keyFile).texts == sent.texts.sorted())
        let fresh = try await TestRelay.start(.localRelay)
        defer { fresh.stopNow() }
        let report = try await RestoreJob(options: .init(target: fresh.url, files: segments), logger: AgentFixture.logger).run()
        #expect(report.succeeded, "\(report.text)")
        let restored = try NostrSDKTool.dmRead(relay: fresh.url, receiverKeyFile: keyFile)
        #expect(restored.texts == sent.texts.sorted() && restored.giftWraps == 30 && restored.nip04 == 20)
    }

    @Test func aDMRelayDemandingAuthWithNoKeyIsReportedNotSkipped() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let peers = try await Self.start()
        defer { peers.stop() }
        let (u, _, config) = try Self.setUp(f, peers, withKey: false)
        _ = try NostrSDKTool.dmSend(
            relay: peers.dm.url, senderKeyFile: f.directory.appendingPathComponent("sender.key").path, receiver: u.publicKey, count: 3)

        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(!summary.succeeded, "a backup missing the messages must not say complete")
        let why = try #require(summary.refusedScopes[peers.dm.url]?["inbox"], "\(summary.text)")
        #expect(why.contains("auth-required") && why.contains("inbox.keys"), "\(why)")
        #expect(summary.text.contains("NOT READ \(peers.dm.url) inbox: auth-required"), "\(summary.text)")
        let status = try StatusReport.make(configuration: config, ledger: Ledger(path: config.ledgerPath.path))
        #expect(status.scopes.first { $0.scope == "inbox" }?.problems[peers.dm.url]?.contains("auth-required") == true)
        #expect(status.text.contains("NOT READ from \(peers.dm.url)"))
    }

    /// Two people's inboxes on one DM relay that keeps one identity per connection: each is read on
    /// a connection of its own, authenticated as that person alone.
    @Test func severalRecipientsOnOneDMRelayAreEachReadAsThemselves() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let peers = try await Self.start()
        defer { peers.stop() }
        let people = [SecretKey.generate(), SecretKey.generate()]
        var keys: [(String, JSONValue)] = []
        for (i, person) in people.enumerated() {
            let file = f.directory.appendingPathComponent("p\(i).key").path
            try person.hex.write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o600)
            keys.append((person.publicKey, .string("p\(i).key")))
        }
        let sender = f.directory.appendingPathComponent("sender.key").path
        let sent = try people.enumerated().map { i, person in
            try NostrSDKTool.dmSend(relay: peers.dm.url, senderKeyFile: sender, receiver: person.publicKey, count: 6, nip04: 4, seed: 10 + i)
        }
        let config = try f.configuration(
            pubkeys: people.map(\.publicKey), relays: [(peers.dm.url, .primary), (peers.backup.url, .backup)],
            relayScopes: [peers.dm.url: ["inbox"]], extra: [("inbox", .object([("keys", .object(keys))]))])
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        #expect(summary.scopeEvents["inbox"] == 20, "\(summary.text)")
        for (i, person) in people.enumerated() {
            let file = f.directory.appendingPathComponent("p\(i).key").path
            #expect(try NostrSDKTool.dmRead(relay: peers.backup.url, receiverKeyFile: file).texts == sent[i].texts.sorted(), "\(person.publicKey)")
        }
        #expect(Set(summary.scopeReconciliations.map(\.scope)).isSuperset(of: people.map { "inbox as \(NIP19.encode(.npub($0.publicKey)))" }))
    }

    @Test func messagesSentWhileTheDaemonRunsReachTheBackup() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let peers = try await Self.start()
        defer { peers.stop() }
        let (u, keyFile, config) = try Self.setUp(f, peers, withKey: true)
        let sender = f.directory.appendingPathComponent("sender.key").path
        let before = try NostrSDKTool.dmSend(relay: peers.dm.url, senderKeyFile: sender, receiver: u.publicKey, count: 5, nip04: 3, seed: 1)
        let during = try await ReconcileDaemonTests.withDaemon(config) { _ in
            // Whatever the daemon has or has not started yet: live subscriptions or reconciliation find them.
            let during = try NostrSDKTool.dmSend(relay: peers.dm.url, senderKeyFile: sender, receiver: u.publicKey, count: 10, nip04: 5, seed: 2)
            let expected = (before.texts + during.texts).sorted()
            let arrived = try await AgentFixture.waitFor(seconds: 60) {
                (try? NostrSDKTool.dmRead(relay: peers.backup.url, receiverKeyFile: keyFile).texts) == expected
            }
            let held = try NostrSDKTool.dmRead(relay: peers.backup.url, receiverKeyFile: keyFile)
            #expect(arrived, "the backup holds \(held.texts.count) of \(expected.count) messages")
            return during
        }
        // The daemon archived them too (it drains the archive when it stops): restored into a fresh
        // relay, U reads every message.
        let segments = try FileManager.default.contentsOfDirectory(at: config.archive!.directory, includingPropertiesForKeys: nil)
        let fresh = try await TestRelay.start(.localRelay)
        defer { fresh.stopNow() }
        let report = try await RestoreJob(options: .init(target: fresh.url, files: segments), logger: AgentFixture.logger).run()
        #expect(report.succeeded, "\(report.text)")
        #expect(try NostrSDKTool.dmRead(relay: fresh.url, receiverKeyFile: keyFile).texts == (before.texts + during.texts).sorted())
    }
}
