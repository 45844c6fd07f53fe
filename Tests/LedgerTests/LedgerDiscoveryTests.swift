import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import Ledger

@Suite struct LedgerDiscoveryTests {
    let key = SecretKey.generate()

    func list(_ relay: RelayURL, at t: Int64) throws -> Event {
        try key.sign(kind: 10002, content: "", tags: [["r", relay.normalized]], createdAt: t)
    }

    @Test func theNewestRelayListWinsWhicheverArrivesFirst() throws {
        let l = try Ledger.temporary()
        let old = try list("wss://old", at: 100), new = try list("wss://new", at: 200)
        #expect(try l.cacheAuthorMetadata(new, from: "wss://indexer", at: 1_000))
        #expect(try !l.cacheAuthorMetadata(old, from: "wss://other", at: 1_001))
        let cached = try #require(try l.authorMetadata(kind: 10002, pubkeys: [key.publicKey])[key.publicKey])
        #expect(cached.raw == new.rawJSON)
        #expect(cached.sourceRelay == "wss://indexer")
        // Seeing the same list again only refreshes its fetch time.
        #expect(try !l.cacheAuthorMetadata(new, from: "wss://indexer", at: 5_000))
        #expect(try l.authorMetadata(kind: 10002, pubkeys: [key.publicKey])[key.publicKey]?.fetchedAt == 5_000)
        // Lists and profiles are cached side by side; other authors are not returned.
        let profile = try key.sign(kind: 0, content: #"{"name":"a"}"#, createdAt: 50)
        #expect(try l.cacheAuthorMetadata(profile, from: "wss://indexer", at: 1_000))
        #expect(try l.authorMetadata(kind: 0, pubkeys: [key.publicKey])[key.publicKey]?.raw == profile.rawJSON)
        #expect(try l.authorMetadata(kind: 10002, pubkeys: [SecretKey.generate().publicKey]).isEmpty)
    }

    @Test func equalTimestampsKeepTheLowerID() throws {
        let l = try Ledger.temporary()
        let x = try list("wss://x", at: 300), y = try list("wss://y", at: 300)
        let (low, high) = x.id < y.id ? (x, y) : (y, x)
        #expect(try l.cacheAuthorMetadata(high, from: "wss://r", at: 1))
        #expect(try l.cacheAuthorMetadata(low, from: "wss://r", at: 2))
        #expect(try !l.cacheAuthorMetadata(high, from: "wss://r", at: 3))
        #expect(try l.authorMetadata(kind: 10002, pubkeys: [key.publicKey])[key.publicKey]?.raw == low.rawJSON)
    }

    @Test func checksAndHealthSurviveAReopen() throws {
        let l = try Ledger.temporary()
        let other = SecretKey.generate().publicKey
        try l.noteDiscoveryChecked([key.publicKey], at: 1_000)
        try l.saveRelayHealth(["wss://a": RelayHealthRecord(figuresJSON: #"{"u":1}"#, informationJSON: #"{"name":"A"}"#, updatedAt: 10)])
        // A figures-only update keeps the NIP-11 document; an information-only one keeps the figures.
        try l.saveRelayHealth(["wss://a": RelayHealthRecord(figuresJSON: #"{"u":2}"#, informationJSON: nil, updatedAt: 20)])
        try l.saveRelayHealth(["wss://b": RelayHealthRecord(figuresJSON: nil, informationJSON: #"{"name":"B"}"#, updatedAt: 30)])
        let reopened = try Ledger(path: l.path)
        #expect(try reopened.discoveryChecks([key.publicKey, other]) == [key.publicKey: 1_000])
        let records = try reopened.relayHealthRecords()
        #expect(records["wss://a"] == RelayHealthRecord(figuresJSON: #"{"u":2}"#, informationJSON: #"{"name":"A"}"#, updatedAt: 20))
        #expect(records["wss://b"] == RelayHealthRecord(figuresJSON: nil, informationJSON: #"{"name":"B"}"#, updatedAt: 30))
    }
}
