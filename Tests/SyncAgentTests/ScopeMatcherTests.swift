import Foundation
import NostrCore
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
