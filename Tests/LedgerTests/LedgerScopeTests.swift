import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import Ledger

/// Scope indexes (the inbox's recipients, configured filters); NIP-62 requests to vanish are in
/// the behavioural suite (`VanishBehaviourTests`), on both ledgers.
@Suite struct LedgerScopeTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002", c: RelayURL = "ws://127.0.0.1:7003"
    let me = SecretKey.generate(), friend = SecretKey.generate()

    func tagsMe(_ e: Event) -> Bool { e.tags.contains { $0.count >= 2 && $0[0] == "p" && $0[1] == me.publicKey } }

    @Test func anIndexIsFilledFromWhatWasRecordedBeforeItAndKeptWithEachBatch() throws {
        let l = try Ledger.temporary()
        let mine = me.publicKey
        var before: [Event] = []
        for i in 0..<30 {
            let tags: [[String]] = i % 3 == 0 ? [] : [["p", mine]]
            let kind = i % 2 == 0 ? 4 : 1
            before.append(try friend.sign(kind: kind, content: "m\(i)", tags: tags, createdAt: 1_000 + Int64(i)))
        }
        _ = try l.record(before.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 5)
        let key = "p:" + mine
        try l.registerScopeIndexes([ScopeIndexDefinition(key: key, definition: "{}", matches: tagsMe)])
        let expected = before.filter(tagsMe)
        #expect(try l.scopeEventCount(indexes: [key], kinds: nil) == expected.count)
        #expect(try l.scopeEventCount(indexes: [key], kinds: [4]) == expected.filter { $0.kind == 4 }.count)

        let after = try (0..<10).map { try friend.sign(kind: 4, content: "later \($0)", tags: [["p", mine]], createdAt: 500 + Int64($0)) }
        _ = try l.record(after.map { ObservedEvent(event: $0, relay: a, indexes: [key]) }, writableRelays: [b], now: 6)
        let (items, upper) = try l.reconcileItems(indexes: [key], kinds: [4], from: 0, maxItems: 1_000)
        #expect(upper == nil)
        let want = (expected + after).filter { $0.kind == 4 }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        #expect(items.map { $0.id.hex } == want.map { $0.id })

        // A second registration (a restart) reads nothing again and loses nothing.
        try l.registerScopeIndexes([
            ScopeIndexDefinition(
                key: key, definition: "{}",
                matches: { _ in
                    Issue.record("re-read"); return false
                })
        ])
        #expect(try l.scopeEventCount(indexes: [key], kinds: nil) == expected.count + after.count)
    }

    /// Processes opening a new ledger together all end up with it migrated once.
    @Test func ledgersOpenedTogetherOnANewFileAllMigrate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rs-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ledger.sqlite").path
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do { _ = try Ledger(path: path).eventCount() } catch { failures.add("\(error)") }
        }
        #expect(failures.all.isEmpty)
        #expect(try Ledger(path: path).eventCount() == 0)
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.withLock { list.append(s) } }
    var all: [String] { lock.withLock { list } }
}
