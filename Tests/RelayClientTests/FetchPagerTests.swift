import NostrCore
import PeerHarness
import Testing

@testable import RelayClient

@Suite("fetchAll paging plan (no I/O, driven by the in-memory store)")
struct FetchPagerTests {
    /// 2,000 events over ~1,700 distinct seconds with 300 sharing one second.
    static let corpus: [Event] = {
        var events = TestSupport.events(1_700, start: 1_700_000_000)
        events += TestSupport.events(300, start: 1_700_000_800, step: 0, content: "same second")
        return events
    }()

    struct Quirk: Sendable, CustomTestStringConvertible {
        var name: String
        var cap: Int
        var inclusive: Bool
        var ignoreLimit = false
        var shuffle = false
        var pageLimit: Int
        var testDescription: String { name }
    }

    static let quirks: [Quirk] = [
        Quirk(name: "LocalRelay-like: cap 500, until inclusive", cap: 500, inclusive: true, pageLimit: 500),
        Quirk(name: "nostr-relay-like: max_limit 500, until exclusive", cap: 500, inclusive: false, pageLimit: 500),
        Quirk(name: "hidden cap 400 below the asked limit", cap: 400, inclusive: true, pageLimit: 500),
        Quirk(name: "ignores limit", cap: .max, inclusive: false, ignoreLimit: true, pageLimit: 500),
        Quirk(name: "out of order, exclusive", cap: 500, inclusive: false, shuffle: true, pageLimit: 500),
        Quirk(name: "nostr-relay default 6000", cap: 6000, inclusive: false, pageLimit: 6000),
    ]

    static func drive(_ store: ScriptedRelayStore, filter: Filter, pageLimit: Int) -> (ids: Set<String>, pages: Int, pager: FetchPager) {
        var pager = FetchPager(filter: filter, pageLimit: pageLimit)
        var ids = Set<String>()
        var pages = 0
        while let f = pager.nextFilter(), pages < 10_000 {
            pages += 1
            let answer = store.query([f])
            let d = pager.receive(answer, rawCount: answer.count, sentUntil: f.until)
            for e in d.fresh { #expect(ids.insert(e.id).inserted, "fresh events are new") }
        }
        return (ids, pages, pager)
    }

    @Test(arguments: quirks)
    func everyEventDespiteCapsAndSharedSeconds(_ quirk: Quirk) {
        var q = ScriptedRelayStore.Quirks()
        q.cap = quirk.cap
        q.untilInclusive = quirk.inclusive
        q.ignoreLimit = quirk.ignoreLimit
        q.shuffle = quirk.shuffle
        let store = ScriptedRelayStore(quirks: q, events: Self.corpus)
        let result = Self.drive(store, filter: Filter(kinds: [1]), pageLimit: quirk.pageLimit)
        #expect(result.ids.count == 2_000)
        #expect(result.ids.symmetricDifference(Self.corpus.map(\.id)).isEmpty)
        #expect(result.pager.isDone)
        #expect(result.pager.cappedSeconds.isEmpty)
        #expect(result.pages < 40, "pages: \(result.pages)")
    }

    @Test func rangeIsHonouredAndOutsideEventsDropped() {
        let store = ScriptedRelayStore(quirks: .init(), events: Self.corpus)
        let filter = Filter(kinds: [1], since: 1_700_000_100, until: 1_700_000_900)
        let result = Self.drive(store, filter: filter, pageLimit: 500)
        let expected = Set(Self.corpus.filter { filter.matches($0) }.map(\.id))
        #expect(result.ids.count == expected.count)
        #expect(result.ids.symmetricDifference(expected).isEmpty)
    }

    @Test func secondTooFullForOnePageIsSplitByKind() {
        // 600 events in one second, cap 500: split by kind recovers them all.
        let a = TestSupport.events(300, start: 1_700_000_000, step: 0, kind: 1)
        let b = TestSupport.events(300, start: 1_700_000_000, step: 0, kind: 7)
        var q = ScriptedRelayStore.Quirks()
        q.cap = 500
        let store = ScriptedRelayStore(quirks: q, events: a + b)
        let result = Self.drive(store, filter: Filter(kinds: [1, 7]), pageLimit: 500)
        #expect(result.ids.count == 600)
        #expect(result.pager.cappedSeconds.isEmpty)
    }

    @Test func unsplittableOverfullSecondIsReportedNotLoopedOn() {
        let same = TestSupport.events(700, start: 1_700_000_000, step: 0)
        var q = ScriptedRelayStore.Quirks()
        q.cap = 500
        let store = ScriptedRelayStore(quirks: q, events: same + TestSupport.events(50, start: 1_600_000_000))
        let result = Self.drive(store, filter: Filter(kinds: [1]), pageLimit: 500)
        #expect(result.pager.isDone)
        #expect(result.pager.cappedSeconds == [1_700_000_000])
        #expect(result.ids.count == 550)
        #expect(result.pages < 10)
    }

    @Test func hiddenCapBelowASharedSecondIsReported() {
        var q = ScriptedRelayStore.Quirks()
        q.cap = 200
        let store = ScriptedRelayStore(quirks: q, events: Self.corpus)
        let result = Self.drive(store, filter: Filter(kinds: [1]), pageLimit: 500)
        #expect(result.pager.cappedSeconds == [1_700_000_800])
        // 301 events share that second (300 + one of the spread series); 200 come back.
        #expect(result.ids.count == 1_899, "all but the 101 the relay cannot return")
    }

    @Test func emptyRelayEndsAtOnce() {
        let store = ScriptedRelayStore()
        let result = Self.drive(store, filter: Filter(kinds: [1]), pageLimit: 500)
        #expect(result.pages == 1)
        #expect(result.ids.isEmpty)
        #expect(result.pager.cursor == FetchCursor(nextUntil: nil, complete: true))
    }
}
