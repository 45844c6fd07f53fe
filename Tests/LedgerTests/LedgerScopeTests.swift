import Foundation
import NostrCore
import Testing

@testable import Ledger

/// Scope indexes (the inbox's recipients, configured filters) and NIP-62 requests to vanish.
@Suite struct LedgerScopeTests {
    let a = "ws://127.0.0.1:7001", b = "ws://127.0.0.1:7002", c = "ws://127.0.0.1:7003"
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

    @Test func aRequestToVanishStopsWhatIsOwedToThatRelayAndWhatComesLater() throws {
        let l = try Ledger.temporary()
        let notes = try (0..<5).map { try me.sign(kind: 1, content: "n\($0)", createdAt: 1_000 + Int64($0)) }
        _ = try l.record(notes.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 10)
        let vanish = try me.sign(kind: Kind.requestToVanish, content: "", tags: [["relay", b + "/"]], createdAt: 1_003)
        _ = try l.record([ObservedEvent(event: vanish, relay: a)], writableRelays: [b, c], now: 11)
        for note in notes {
            let owed = try l.presence(of: note)
            #expect(owed[c] == .pending)
            #expect(owed[b] == (note.createdAt <= 1_003 ? .rejected : .pending), "\(note.createdAt)")
        }
        #expect(try l.presence(of: vanish)[b] == .pending, "the request itself reaches the relay")
        // A backdated copy arriving later is not owed there either.
        let late = try me.sign(kind: 1, content: "late", createdAt: 900)
        _ = try l.record([ObservedEvent(event: late, relay: a)], writableRelays: [b, c], now: 12)
        #expect(try l.presence(of: late)[b] == .rejected && l.presence(of: late)[c] == .pending)
        // Reconciliation finding them missing on b schedules none of them again.
        let items = notes.map { LedgerItem(createdAt: $0.createdAt, id: Bytes32(hex: $0.id)!) }
        let result = try l.requeue(relay: b, items: items, now: 20)
        #expect(result.notEligible == 4 && result.alreadyPending == 1, "only the note after the request is still owed: \(result)")
        #expect(try l.vanishRequests().map(\.relay) == [b])
        // Every relay: ALL_RELAYS.
        let everywhere = try me.sign(kind: Kind.requestToVanish, content: "", tags: [["relay", "ALL_RELAYS"]], createdAt: 2_000)
        _ = try l.record([ObservedEvent(event: everywhere, relay: a)], writableRelays: [b, c], now: 21)
        #expect(try l.presence(of: notes[4])[c] == .rejected)
        #expect(try l.vanishRequests().map(\.relay).sorted() == ["*", b])
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
