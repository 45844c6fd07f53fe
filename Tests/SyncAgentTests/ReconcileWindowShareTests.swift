import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

/// A window given to a second relay from what the first one read holds the events a fresh read
/// gives, whatever was recorded between them: inside it, beyond it, or outside the scope.
@Suite struct ReconcileWindowShareTests {
    let a: RelayURL = "ws://127.0.0.1:7001"
    let key = SecretKey.generate()
    let stranger = SecretKey.generate()

    func record(_ l: Ledger, _ events: [Event]) throws {
        _ = try l.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [], now: 1_000)
    }

    func notes(_ signer: SecretKey, _ range: Range<Int>, seconds: Int64 = 40, kind: Int = 1) throws -> [Event] {
        try range.map { i in try signer.sign(kind: kind, content: "n\(i)", createdAt: 1_700_000_000 + Int64(i) % seconds) }
    }

    /// Every window from `lower` on, through `read`.
    func windows(_ read: (Int64) throws -> (items: [LedgerItem], upper: Int64?)) throws -> [[LedgerItem]] {
        var lower: Int64 = 0
        var out: [[LedgerItem]] = []
        while out.count < 1_000 {
            let (items, upper) = try read(lower)
            out.append(items)
            guard let upper else { break }
            lower = upper + 1
        }
        return out
    }

    /// The same events in the same order, and no second split between two windows. Where a fresh
    /// read cuts differently (the last window, when later seconds were recorded since), each window
    /// still holds every event of its seconds.
    func expectTheSameEvents(_ shared: [[LedgerItem]], _ fresh: [[LedgerItem]], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Array(shared.joined()) == Array(fresh.joined()), sourceLocation: sourceLocation)
        for (window, next) in zip(shared, shared.dropFirst()) {
            #expect(window.last!.createdAt < next.first!.createdAt, "a second split between two windows", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [nil, [1]] as [[Int]?])
    func aSecondRelayGetsEveryEventAFreshReadGives(kinds: [Int]?) throws {
        let l = try Ledger.temporary()
        let scope = ReconcileScope(authors: [key.publicKey], kinds: kinds, since: nil)
        try record(l, try notes(key, 0..<200).shuffled())
        let share = ReconcileWindowShare(ledger: l, scope: scope)
        func shared() throws -> [[LedgerItem]] { try windows { try share.window(from: $0, maxItems: 20) } }
        func fresh() throws -> [[LedgerItem]] { try windows { try l.reconcileItems(scope: scope, from: $0, maxItems: 20) } }

        let first = try shared()
        #expect(first == (try fresh()) && first.count > 5 && share.reused == 0)
        #expect(try shared() == first, "nothing recorded: the same windows")
        #expect(share.reused == first.count)

        // Recorded since: the scope's notes inside earlier seconds and past the end, another
        // kind, and another author's notes in the same seconds.
        try record(l, try notes(key, 200..<210) + notes(key, 210..<212, seconds: 1_000) + notes(key, 212..<215, kind: 7) + notes(stranger, 0..<10))
        let second = try shared()
        try expectTheSameEvents(second, fresh())
        #expect(share.reused == first.count * 2)
        #expect(second.joined().count == (kinds == nil ? 215 : 212), "the stranger's notes stay out")
        // Later still, brought up to date again from where the last relay left it.
        try record(l, try notes(key, 215..<218))
        try expectTheSameEvents(shared(), fresh())
    }

    /// Past its budget the share keeps nothing more and reads afresh; a window that would grow by
    /// more than a quarter is read afresh; either way the windows are right.
    @Test func pastItsBoundsItReadsAfresh() throws {
        let l = try Ledger.temporary()
        let scope = ReconcileScope(authors: [key.publicKey], kinds: nil, since: nil)
        try record(l, try notes(key, 0..<100, seconds: 10))
        func fresh() throws -> [[LedgerItem]] { try windows { try l.reconcileItems(scope: scope, from: $0, maxItems: 20) } }

        let small = ReconcileWindowShare(ledger: l, scope: scope, budget: 50)
        let first = try windows { try small.window(from: $0, maxItems: 20) }
        #expect(first == (try fresh()))
        #expect(try windows { try small.window(from: $0, maxItems: 20) } == first)
        #expect(small.reused == 2, "two windows of 20 fit in 50 items: only they are kept")

        let share = ReconcileWindowShare(ledger: l, scope: scope)
        _ = try windows { try share.window(from: $0, maxItems: 20) }
        // Ten more notes in the last second: the last window (two seconds, 20 notes) would grow
        // by half; the others are given as kept.
        try record(l, try (100..<110).map { i in try key.sign(kind: 1, content: "n\(i)", createdAt: 1_700_000_009) })
        let again = try windows { try share.window(from: $0, maxItems: 20) }
        try expectTheSameEvents(again, fresh())
        #expect(share.reused == again.count - 1)

        // More recorded than the share may hold: it closes, and still gives the right windows.
        let tight = ReconcileWindowShare(ledger: l, scope: scope, budget: 120)
        _ = try windows { try tight.window(from: $0, maxItems: 20) }
        try record(l, try notes(key, 110..<140, seconds: 10))
        try expectTheSameEvents(windows { try tight.window(from: $0, maxItems: 20) }, fresh())
        #expect(tight.reused == 0)
    }
}
