import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

/// The discovery cache behaves the same on both ledgers: the newest relay list wins (NIP-01's
/// tie-break on equal dates), checks and health records are kept per key.
@Suite struct DiscoveryStoreBehaviourTests {
    let alice = SecretKey.generate(), bob = SecretKey.generate()

    func list(_ key: SecretKey, at t: Int64, _ url: String) throws -> Event {
        try key.sign(kind: Kind.relayList, content: "", tags: [["r", url]], createdAt: t)
    }

    @Test(arguments: LedgerStoreBehaviourTests.stores) func theNewestRelayListIsKept(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let old = try list(alice, at: 100, "wss://old.example.com")
            let new = try list(alice, at: 200, "wss://new.example.com")
            #expect(try await store.cacheAuthorMetadata(new, from: "ws://a", at: 1))
            #expect(try await !store.cacheAuthorMetadata(old, from: "ws://b", at: 2))
            // The same event again only refreshes when it was fetched.
            #expect(try await !store.cacheAuthorMetadata(new, from: "ws://b", at: 3))
            let cached = try await store.authorMetadata(kind: Kind.relayList, pubkeys: [alice.publicKey, bob.publicKey])
            #expect(cached.count == 1)
            #expect(cached[alice.publicKey] == CachedAuthorMetadata(raw: new.rawJSON, sourceRelay: "ws://a", fetchedAt: 3))
            // Equal dates: the lower id wins.
            let twins = try [list(bob, at: 300, "wss://x.example.com"), list(bob, at: 300, "wss://y.example.com")].sorted { $0.id < $1.id }
            #expect(try await store.cacheAuthorMetadata(twins[1], from: "ws://a", at: 4))
            #expect(try await store.cacheAuthorMetadata(twins[0], from: "ws://a", at: 5))
            #expect(try await !store.cacheAuthorMetadata(twins[1], from: "ws://a", at: 6))
            #expect(try await store.authorMetadata(kind: Kind.relayList, pubkeys: [bob.publicKey])[bob.publicKey]?.raw == twins[0].rawJSON)
            #expect(try await store.authorMetadata(kind: Kind.metadata, pubkeys: [bob.publicKey]).isEmpty)
        }
    }

    @Test(arguments: LedgerStoreBehaviourTests.stores) func checksAndHealthAreKeptPerKey(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.noteDiscoveryChecked([alice.publicKey, bob.publicKey], at: 10)
            try await store.noteDiscoveryChecked([bob.publicKey], at: 20)
            #expect(try await store.discoveryChecks([alice.publicKey, bob.publicKey, "ff"]) == [alice.publicKey: 10, bob.publicKey: 20])
            try await store.saveRelayHealth(["ws://a": RelayHealthRecord(figuresJSON: "{\"f\":1}", informationJSON: "{\"name\":\"a\"}", updatedAt: 1)])
            // A record without information keeps the document recorded before.
            try await store.saveRelayHealth(["ws://a": RelayHealthRecord(figuresJSON: "{\"f\":2}", informationJSON: nil, updatedAt: 2)])
            #expect(
                try await store.relayHealthRecords() == [
                    "ws://a": RelayHealthRecord(figuresJSON: "{\"f\":2}", informationJSON: "{\"name\":\"a\"}", updatedAt: 2)
                ])
        }
    }
}
