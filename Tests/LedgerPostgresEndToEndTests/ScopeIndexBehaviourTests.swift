import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

/// The inbox and filter scopes' indexes on both ledgers: a new index is filled from what was
/// recorded before it, `record` keeps it from then on, and its windows and counts read as the
/// authors' own do.
@Suite struct ScopeIndexBehaviourTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002"
    let author = SecretKey.generate(), recipient = SecretKey.generate()

    func index(_ key: String) -> ScopeIndexDefinition {
        let pubkey = recipient.publicKey
        return ScopeIndexDefinition(key: key, definition: "{\"#p\":[\"\(pubkey)\"]}") { e in
            e.tags.contains { $0.count >= 2 && $0[0] == "p" && $0[1] == pubkey }
        }
    }

    func dm(_ i: Int, kind: Int = Kind.giftWrap) throws -> Event {
        try author.sign(kind: kind, content: "m\(i)", tags: [["p", recipient.publicKey]], createdAt: 1_000 + Int64(i / 2))
    }

    @Test(arguments: LedgerStoreBehaviourTests.stores) func anIndexIsFilledFromTheLedgerThenKeptByRecord(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let before = try (0..<6).map { try dm($0) }
            let unrelated = try author.sign(kind: 1, content: "public", createdAt: 1_001)
            _ = try await store.record((before + [unrelated]).map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
            // Registered after those were recorded: filled from the ledger.
            try await store.registerScopeIndexes([index("inbox:r")])
            #expect(try await store.scopeEventCount(indexes: ["inbox:r"], kinds: nil) == 6)
            // From now on `record` keeps it, from each event's indexes.
            let after = try (6..<10).map { try dm($0, kind: $0 == 9 ? Kind.encryptedDirectMessage : Kind.giftWrap) }
            _ = try await store.record(after.map { ObservedEvent(event: $0, relay: a, indexes: ["inbox:r"]) }, writableRelays: [b], now: 2)
            #expect(try await store.scopeEventCount(indexes: ["inbox:r"], kinds: nil) == 10)
            #expect(try await store.scopeEventCount(indexes: ["inbox:r"], kinds: [Kind.giftWrap]) == 9)
            #expect(try await store.scopeEventCount(indexes: ["inbox:other"], kinds: nil) == 0)
            // Windows: whole seconds (two events a second here), in (created_at, id) order.
            let all = (before + after).map { LedgerItem(createdAt: $0.createdAt, id: Bytes32(hex: $0.id)!) }.sorted {
                ($0.createdAt, $0.id) < ($1.createdAt, $1.id)
            }
            let first = try await store.reconcileItems(indexes: ["inbox:r"], kinds: nil, from: 0, maxItems: 3)
            #expect(first.items == Array(all.prefix(4)) && first.upper == 1_001)
            let rest = try await store.reconcileItems(indexes: ["inbox:r"], kinds: nil, from: 1_002, maxItems: 100)
            #expect(rest.items == Array(all.dropFirst(4)) && rest.upper == nil)
            // Registering again (a restart) reads nothing twice.
            try await store.registerScopeIndexes([index("inbox:r")])
            #expect(try await store.scopeEventCount(indexes: ["inbox:r"], kinds: nil) == 10)
        }
    }
}
