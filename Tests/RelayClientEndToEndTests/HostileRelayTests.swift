import Foundation
import NostrCore
import PeerHarness
import Synchronization
import Testing

@testable import RelayClient
@testable import RelayClientTests

@Suite("Hostile relays (scripted)")
struct HostileRelayTests {
    @Test(.timeLimit(.minutes(1)))
    func garbageFramesAreCountedAndSurvived() async throws {
        let store = ScriptedRelayStore()
        let behaviour = ScriptedRelay.Behaviour(
            onConnect: { c in
                try await c.send("hello, not json")
                try await c.send("[\"EVENT\"]")
                try await c.send("{\"an\":\"object\"}")
                try await c.send("[\"WHAT\",1,2]")
                try await c.sendBinary([0xff, 0x00, 0xfe])
                try await c.send("[\"EVENT\",\"x\",{\"id\":1}]")
            }, onText: { c, t in try await store.answer(c, t) })
        try await ScriptedRelay.with(behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                let e = TestSupport.events(1)[0]
                #expect(await relay.publish(e) == .accepted)
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(got.events.map(\.id) == [e.id])
                let h = await relay.health()
                #expect(h.malformedFrames >= 5)
                #expect(h.state == .connected)
                #expect(server.connectionCount == 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func fiftyMegabyteFrameDropsTheConnectionNotTheClient() async throws {
        let store = ScriptedRelayStore()
        let behaviour = ScriptedRelay.Behaviour(onText: { c, t in
            if t.contains("\"kinds\":[9999]") {
                try await c.sendHugeFrame(size: 50 << 20)
                return
            }
            try await store.answer(c, t)
        })
        try await ScriptedRelay.with(behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                let sub = relay.subscribe([Filter(kinds: [9999])], live: true)
                // The connection is replaced; the client goes on.
                // The server counts a connection before the client has finished opening it: wait for both.
                try await TestSupport.waitFor(seconds: 15) {
                    guard server.connectionCount >= 2 else { return false }
                    return await relay.health().reconnects >= 1
                }
                sub.cancel()
                #expect(server.connectionCount >= 2)
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                let e = TestSupport.events(1)[0]
                let outcome = await relay.publish(e)
                // Re-sent if the first try was on a connection that then dropped: duplicate is delivered too.
                #expect(outcome.isDelivered, "\(outcome)")
                let h = await relay.health()
                #expect(h.lastError != nil)
                #expect(h.reconnects >= 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func endlessFloodIsBackpressuredNotBuffered() async throws {
        let key = SecretKey.generate()
        let big = String(repeating: "x", count: 16_384)
        // 96 MiB in all, signed as sent: more than loopback's kernel buffers hold (the receive
        // buffer alone autotunes up to 32 MiB here), so a relay that is never read from must stall.
        let floodCount = 6_000
        let sent = Counter()
        let behaviour = ScriptedRelay.Behaviour(onText: { c, t in
            guard case let .req(sub, _)? = try? ClientMessage.decode(t) else { return }
            let stop = ContinuousClock.now + .seconds(20)
            for i in 0..<floodCount where ContinuousClock.now < stop {
                let e = try key.sign(kind: 1, content: "\(i) \(big)", createdAt: 1_700_000_000 + Int64(i))
                try await c.send(.event(subscription: sub, event: e))
                sent.increment()
            }
        })
        try await ScriptedRelay.with(behaviour) { server in
            var config = TestSupport.configuration(server.url)
            config.subscriptionBuffer = 50
            try await TestSupport.withRelay(config) { relay in
                let sub = relay.subscribe([Filter(kinds: [1])], live: true)
                var it = sub.makeAsyncIterator()
                var received = 0
                while received < 100, let item = await it.next() {
                    if case .event = item { received += 1 }
                }
                // Then no more reading: wait until the relay's sending stalls, TCP's backpressure
                // having reached it.
                var lastSeen = -1
                let stalled = try await TestSupport.waitFor(seconds: 30, every: .milliseconds(300)) {
                    defer { lastSeen = sent.value }
                    return sent.value == lastSeen
                }
                #expect(stalled)
                let sentWhileSlow = sent.value
                // The relay is held back by TCP: not everything went out, and what did is in kernel
                // and channel buffers (how much varies with load and autotuning: 1,500-3,000 seen
                // here), not in our subscription buffer.
                #expect(sentWhileSlow < floodCount, "sent \(sentWhileSlow)")
                #expect(sub.handle.buffer.count <= 50)
                // Reading resumes the flow.
                while received < 1_000, let item = await it.next() {
                    if case .event = item { received += 1 }
                }
                #expect(received == 1_000)
                sub.cancel()
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func badSignaturesAndOutOfRangeEventsAreDroppedAndCounted() async throws {
        let good = TestSupport.events(10)
        let bad = TestSupport.events(10, start: 1_700_001_000).map { e in
            let flipped = String(e.sig.prefix(10)) + (e.sig.dropFirst(10).first == "0" ? "1" : "0") + String(e.sig.dropFirst(11))
            return Event(id: e.id, pubkey: e.pubkey, createdAt: e.createdAt, kind: e.kind, tags: e.tags, content: e.content, sig: flipped)
        }
        let badID = TestSupport.events(3, start: 1_700_002_000).map { e in
            Event(id: String(repeating: "a", count: 64), pubkey: e.pubkey, createdAt: e.createdAt, kind: e.kind, tags: e.tags, content: e.content, sig: e.sig)
        }
        let wrongKind = TestSupport.events(5, start: 1_700_003_000, kind: 7)
        // Signed over "BAD?", sent with the "?" turned into a byte that is not UTF-8.
        let badUTF8 = TestSupport.events(2, start: 1_700_004_000, content: "BAD?")
        let behaviour = ScriptedRelay.Behaviour(onText: { c, t in
            guard case let .req(sub, _)? = try? ClientMessage.decode(t) else { return }
            for e in good + bad + badID + wrongKind { try await c.send(.event(subscription: sub, event: e)) }
            for e in badUTF8 {
                let bytes = Array(RelayMessage.event(subscription: sub, event: e).encoded.utf8)
                let at = try #require(bytes.indices.first { bytes[$0...].starts(with: Array("BAD?".utf8)) }) + 3
                try await c.sendText(bytes: Array(bytes[..<at]) + [0xFF] + Array(bytes[(at + 1)...]))
            }
            try await c.send(.eose(subscription: sub))
        })
        try await ScriptedRelay.with(behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(got.eose)
                #expect(Set(got.events.map(\.id)) == Set(good.map(\.id)))
                let h = await relay.health()
                #expect(h.invalid == 15)
                #expect(h.outOfRange == 5)
                #expect(h.reconnects == 0, "bad UTF-8 costs the event, not the connection")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyIDRejectionsDoNotWedgeTheWindowOrLoseEvents() async throws {
        let events = TestSupport.events(60)
        var q = ScriptedRelayStore.Quirks()
        q.emptyIDOnReject = true
        q.rejectIDs = Set([3, 17, 41].map { events[$0].id })
        let store = ScriptedRelayStore(quirks: q)
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let outcomes = await relay.publish(events)
                #expect(outcomes.count == 60)
                let rejected = outcomes.filter { if case .rejected = $0.value { return true } else { return false } }
                #expect(Set(rejected.keys) == store.quirks.rejectIDs)
                #expect(rejected.values.allSatisfy { $0.isPermanentFailure })
                #expect(outcomes.values.filter { $0 == .accepted }.count == 57)
                #expect(store.count == 57)
                // Later events still flow (one at a time for now).
                #expect(await relay.publish(TestSupport.events(1, start: 1_800_000_000)[0]) == .accepted)
                #expect(await relay.health().oneAtATime)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func unansweredEventsTimeOutWithoutWedgingOthers() async throws {
        let events = TestSupport.events(20)
        var q = ScriptedRelayStore.Quirks()
        q.ignoreIDs = [events[4].id, events[11].id]
        let store = ScriptedRelayStore(quirks: q)
        try await ScriptedRelay.with(store.behaviour) { server in
            var config = TestSupport.configuration(server.url)
            config.okTimeout = .seconds(1)
            try await TestSupport.withRelay(config) { relay in
                let outcomes = await relay.publish(events)
                #expect(outcomes.values.filter { $0 == .accepted }.count == 18)
                #expect(outcomes[events[4].id] == .timedOut)
                #expect(outcomes[events[11].id] == .timedOut)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func relayIgnoringAllEventsButAliveTimesThemOutWithoutReconnecting() async throws {
        var q = ScriptedRelayStore.Quirks()
        q.neverAnswerOK = true
        let store = ScriptedRelayStore(quirks: q)
        try await ScriptedRelay.with(store.behaviour) { server in
            var config = TestSupport.configuration(server.url)
            config.okTimeout = .seconds(1)
            try await TestSupport.withRelay(config) { relay in
                let outcomes = await relay.publish(TestSupport.events(3))
                #expect(outcomes.values.allSatisfy { $0 == .timedOut })
                // The probe showed the connection alive: no reconnect, each event retried alone once.
                #expect(server.connectionCount == 1)
                #expect(store.eventMessagesReceived == 6)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func stalledConnectionsAreReplacedAndNothingIsLost() async throws {
        var q = ScriptedRelayStore.Quirks()
        // 34 events, deaf after 10 a connection: three stalls and a fourth connection, as with more.
        q.stallAfter = 10
        let store = ScriptedRelayStore(quirks: q)
        try await ScriptedRelay.with(store.behaviour) { server in
            // 2 s, not less: on a loaded machine OKs that merely trickle in must not count as lost twice.
            var config = TestSupport.configuration(server.url)
            config.backoffInitial = .milliseconds(100)
            config.backoffCap = .milliseconds(400)
            try await TestSupport.withRelay(config) { relay in
                let events = TestSupport.events(34)
                let outcomes = await relay.publish(events)
                #expect(outcomes.values.filter { $0 == .accepted }.count == 34)
                #expect(store.count == 34)
                // Each deaf connection was replaced and what was in flight re-sent.
                #expect(server.connectionCount >= 4)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func rateLimitedSlowsDownAndRetries() async throws {
        var q = ScriptedRelayStore.Quirks()
        q.rateLimitFirst = 3
        let store = ScriptedRelayStore(quirks: q)
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                let events = TestSupport.events(5)
                var outcomes: [String: PublishOutcome] = [:]
                for e in events { outcomes[e.id] = await relay.publish(e) }
                #expect(outcomes.values.allSatisfy { $0 == .accepted })
                #expect(store.count == 5)
                #expect(store.eventMessagesReceived == 8)
                #expect(await relay.health().pacingMs > 0)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func nip42AuthenticatesAndRetriesOnce() async throws {
        var q = ScriptedRelayStore.Quirks()
        q.requireAuth = true
        let store = ScriptedRelayStore(quirks: q, events: TestSupport.events(3, start: 1_600_000_000))
        try await ScriptedRelay.with(store.behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url, authKey: SecretKey.generate())) { relay in
                #expect(await relay.publish(TestSupport.events(1)[0]) == .accepted)
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(got.events.count == 4)
                #expect(await relay.health().authenticated)
            }
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                guard case .authRequired = await relay.publish(TestSupport.events(1, start: 1_800_000_000)[0]) else {
                    Issue.record("expected auth-required without a key"); return
                }
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(got.closed?.prefix == .authRequired)
            }
        }
    }

    /// A relay that keeps the socket open but stopped answering (no pong, no frame) is replaced
    /// by the keepalive alone: with nothing in flight the core has no overdue OK to notice.
    @Test(.timeLimit(.minutes(1)))
    func aRelayThatAnswersNoPingIsReplaced() async throws {
        let store = ScriptedRelayStore()
        let behaviour = ScriptedRelay.Behaviour(answersPings: false, onText: { c, t in try await store.answer(c, t) })
        try await ScriptedRelay.with(behaviour) { server in
            var configuration = TestSupport.configuration(server.url)
            configuration.pingInterval = .milliseconds(300)
            try await TestSupport.withRelay(configuration) { relay in
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                // The server counts a connection before the client has finished opening it: wait for both.
                try await TestSupport.waitFor(seconds: 15) {
                    guard server.connectionCount >= 2 else { return false }
                    return await relay.health().reconnects >= 1
                }
                #expect(server.connectionCount >= 2)
                let h = await relay.health()
                #expect(h.reconnects >= 1)
                #expect(h.lastError?.contains("answered no ping") == true, "\(h.lastError ?? "no error")")
                #expect(h.latency.ping == nil)
            }
        }
    }
}
