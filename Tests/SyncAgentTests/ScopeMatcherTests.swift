import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

/// Which scopes an event belongs to, and which ledger indexes it joins (no I/O).
@Suite struct ScopeMatcherTests {
    let me = SecretKey.generate(), friend = SecretKey.generate()

    func configuration(_ extra: String) throws -> SyncConfiguration {
        try SyncConfiguration.parse(
            #"{"pubkeys":["\#(me.publicKey)"],"relays":[{"url":"ws://127.0.0.1:7000"}],"kinds":[1],"since":1000,\#(extra)}"#,
            baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    @Test func anEventIsKeptForEveryScopeItBelongsToAndIndexedWhateverItsKindOrDate() throws {
        let c = try configuration(##""inbox":{},"filters":[{"#t":["nostr"]}]"##)
        let m = ScopeMatcher(c)
        let recipient = ScopeIndex.recipientKey(me.publicKey)
        let topic = ScopeIndex.filterKeyPrefix + ScopeIndex.filterKey(c.filters[0])

        let own = try me.sign(kind: 1, content: "mine #nostr", tags: [["t", "nostr"], ["p", me.publicKey]], createdAt: 2000)
        #expect(m.match(own).scopes == [.authors, .filter(0)], "a note of mine p-tagging me is no inbox kind")
        #expect(Set(m.match(own).indexes) == [recipient, topic])

        let wrap = try friend.sign(kind: Kind.giftWrap, content: "ciphertext", tags: [["p", me.publicKey]], createdAt: 2000)
        #expect(m.match(wrap).scopes == [.inbox])
        #expect(m.match(wrap).indexes == [recipient])

        let old = try friend.sign(kind: Kind.encryptedDirectMessage, content: "x", tags: [["p", me.publicKey]], createdAt: 10)
        #expect(m.match(old).scopes.isEmpty, "before since: not backed up")
        let stranger = try friend.sign(kind: 1, content: "x", tags: [["t", "other"]], createdAt: 2000)
        #expect(m.match(stranger).scopes.isEmpty && m.match(stranger).indexes.isEmpty)
        let reaction = try friend.sign(kind: 7, content: "+", tags: [["p", me.publicKey]], createdAt: 2000)
        #expect(m.match(reaction).scopes.isEmpty, "kind 7 is not among the inbox's default kinds")
    }

    @Test func theAuthorsScopeAloneNeedsNoPerEventMatching() throws {
        let m = ScopeMatcher(try configuration(#""log_level":"info""#))
        #expect(!m.hasIndexes)
        #expect(m.inAuthors(try me.sign(kind: 1, content: "x", createdAt: 2000)))
        #expect(!m.inAuthors(try me.sign(kind: 7, content: "x", createdAt: 2000)))
    }
}

/// Which connections a configured relay gets, and with which keys (no I/O).
@Suite struct RelayConnectionsTests {
    let agent = SecretKey.generate(), alice = SecretKey.generate(), bob = SecretKey.generate()

    func scopes(_ pubkeys: [String]) -> [SyncScope] {
        [
            SyncScope(name: .authors, selection: .authors(pubkeys, kinds: nil), since: nil),
            SyncScope(name: .inbox, selection: .recipients(pubkeys, kinds: [4, 1059]), since: nil),
        ]
    }

    @Test func oneIdentityStaysOnTheRelaysOwnConnection() {
        let entry = SyncConfiguration.RelayEntry(url: "ws://127.0.0.1:1", role: .primary, auth: false)
        let c = RelayConnections(
            entry: entry, scopes: scopes([alice.publicKey]), agentKey: agent, inboxKeys: [(alice.publicKey, alice)], pubkeys: [alice.publicKey])
        #expect(c.keys.map(\.publicKey) == [alice.publicKey] && c.identities.isEmpty)
        #expect(c.scopes.map(\.name) == [.authors, .inbox])
    }

    @Test func severalIdentitiesGetAConnectionEachAndUnkeyedRecipientsStay() {
        let carol = SecretKey.generate().publicKey
        let people = [alice.publicKey, bob.publicKey, carol]
        let entry = SyncConfiguration.RelayEntry(url: "ws://127.0.0.1:1", role: .both, auth: true)
        let c = RelayConnections(
            entry: entry, scopes: scopes(people), agentKey: agent, inboxKeys: [(alice.publicKey, alice), (bob.publicKey, bob)], pubkeys: people)
        #expect(c.keys.map(\.publicKey) == [agent.publicKey], "the relay's own connection keeps the agent's identity")
        #expect(c.identities.map(\.key.publicKey) == [alice.publicKey, bob.publicKey])
        #expect(c.identities.map(\.scope.relayFilter) == [alice, bob].map { Filter(kinds: [4, 1059], tags: ["p": [$0.publicKey]]) })
        #expect(c.identities[0].identity == NIP19.encode(.npub(alice.publicKey)))
        #expect(c.scopes.last?.relayFilter == Filter(kinds: [4, 1059], tags: ["p": [carol]]), "carol has no key: read on the shared connection")
    }

    @Test func aBackupOnlyRelayReadsNothing() {
        let entry = SyncConfiguration.RelayEntry(url: "ws://127.0.0.1:1", role: .backup, auth: true)
        let c = RelayConnections(
            entry: entry, scopes: scopes([alice.publicKey]), agentKey: agent, inboxKeys: [(alice.publicKey, alice)], pubkeys: [alice.publicKey])
        #expect(c.scopes.isEmpty && c.identities.isEmpty && c.keys.map(\.publicKey) == [agent.publicKey])
    }
}
