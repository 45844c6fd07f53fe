import Foundation
import NostrCore
import PeerHarness
import Synchronization
import Testing

@testable import RelayClient
@testable import RelayClientTests

@Suite("Relay against a scripted in-memory relay")
struct ScriptedRelayBasicsTests {
    @Test func connectPublishSubscribeEOSE() async throws {
        let store = ScriptedRelayStore()
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                let events = TestSupport.events(30)
                #expect(await relay.publish(events[0]) == .accepted)
                #expect(await relay.publish(events[0]) == .duplicate("have it"))
                let outcomes = await relay.publish(Array(events[1...]))
                #expect(outcomes.count == 29)
                #expect(outcomes.values.allSatisfy { $0 == .accepted })
                let got = await TestSupport.collect(relay.subscribe([Filter(authors: [TestSupport.key.publicKey])], live: false))
                #expect(got.eose)
                #expect(Set(got.events.map(\.id)) == Set(events.map(\.id)))
                let health = await relay.health()
                #expect(health.state == .connected)
                #expect(health.accepted == 31)
                #expect(health.latency.eventToOK != nil)
                #expect(health.latency.reqToEOSE != nil)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingALiveSubscriptionSendsOneClose() async throws {
        let store = ScriptedRelayStore()
        let closeMessages = Mutex<[String]>([])
        let behaviour = ScriptedRelay.Behaviour(onText: { c, text in
            if text.hasPrefix("[\"CLOSE\"") { closeMessages.withLock { $0.append(text) } }
            try await store.answer(c, text)
        })
        try await ScriptedRelay.with(behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let sub = relay.subscribe([Filter(kinds: [1])], live: true)
                // Only the CLOSEs naming this subscription: the query below sends its own after its
                // EOSE, which under load can reach the server before the count is read.
                let closes = { closeMessages.withLock { $0.filter { $0.contains("\"\(sub.id)\"") }.count } }
                var iterator = sub.makeAsyncIterator()
                guard case .endOfStoredEvents? = await iterator.next() else { Issue.record("expected EOSE"); return }
                sub.cancel()
                try await TestSupport.waitFor(seconds: 5, every: .milliseconds(20)) { closes() > 0 }
                // A query's EOSE comes back after everything sent before its REQ was read: a
                // second CLOSE would have been counted by then.
                _ = await TestSupport.collect(relay.subscribe([Filter(kinds: [7])], live: false))
                #expect(closes() == 1)
            }
        }
    }
}

extension ScriptedRelayBasicsTests {
    @Test(.timeLimit(.minutes(1)))
    func fetchAllOverTheWireThroughACapAndASharedSecond() async throws {
        var q = ScriptedRelayStore.Quirks()
        q.cap = 500
        q.untilInclusive = false
        let store = ScriptedRelayStore(quirks: q, events: FetchPagerTests.corpus)
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let collected = Collected()
                let summary = try await relay.fetchAll(Filter(kinds: [1])) { events, cursor in
                    collected.add(events, cursor)
                }
                #expect(summary.events == 2_000)
                #expect(collected.ids.count == 2_000)
                #expect(collected.ids.symmetricDifference(FetchPagerTests.corpus.map(\.id)).isEmpty)
                #expect(collected.lastCursor == FetchCursor(nextUntil: nil, complete: true))
                #expect(summary.pages < 20)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func liveSubscriptionIsReissuedAsAskedAfterReconnect() async throws {
        let store = ScriptedRelayStore(events: TestSupport.events(5, start: 1_700_000_000))
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let sub = relay.subscribe([Filter(kinds: [1])], live: true)
                var it = sub.makeAsyncIterator()
                var ids = Set<String>()
                while let item = await it.next() {
                    if case let .event(e) = item { ids.insert(e.id) } else { break }
                }
                #expect(ids.count == 5)
                // The relay drops us; meanwhile newer events are stored.
                let later = TestSupport.events(4, start: 1_700_000_100)
                store.add(later)
                await server.dropConnections()
                var fresh: [Event] = []
                while fresh.count < 4, let item = await it.next() {
                    if case let .event(e) = item { fresh.append(e) }
                }
                #expect(Set(fresh.map(\.id)) == Set(later.map(\.id)), "overlap replays are de-duplicated")
                // No `since` taken from the newest event seen: a late or backdated event must still arrive.
                let reissued = store.requestedFilters.last
                #expect(reissued == Filter(kinds: [1]))
                #expect(server.connectionCount == 2)
                sub.cancel()
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLiveLimitZeroThatTheRelayIgnoresBecomesLimitOne() async throws {
        var quirks = ScriptedRelayStore.Quirks()
        quirks.ignoreLimit = true
        let store = ScriptedRelayStore(quirks: quirks, events: TestSupport.events(5, start: 1_700_000_000))
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let sub = relay.subscribe([Filter(kinds: [1], limit: 0)], live: true)
                var it = sub.makeAsyncIterator()
                var stored = 0
                while let item = await it.next() {
                    if case .event = item { stored += 1 } else { break }
                }
                #expect(stored == 5, "this relay sends stored events despite limit 0")
                await server.dropConnections()
                try await TestSupport.waitFor(seconds: 15) { store.requestedFilters.count >= 2 }
                #expect(store.requestedFilters.last == Filter(kinds: [1], limit: 1))
                sub.cancel()
            }
        }
    }
}

final class Collected: Sendable {
    private let state = Mutex<(ids: Set<String>, cursor: FetchCursor?)>(([], nil))
    func add(_ events: [Event], _ cursor: FetchCursor) {
        state.withLock { s in
            for e in events { s.ids.insert(e.id) }
            s.cursor = cursor
        }
    }
    var ids: Set<String> { state.withLock { $0.ids } }
    var lastCursor: FetchCursor? { state.withLock { $0.cursor } }
}

final class Counter: Sendable {
    private let box = Mutex(0)
    func increment() { box.withLock { $0 += 1 } }
    var value: Int { box.withLock { $0 } }
}
