import NostrCore
import Testing

@testable import RelayClient

@Suite("Publish window (no I/O)")
struct PublishQueueTests {
    func queue(window: Int = 3) -> PublishQueue {
        PublishQueue(settings: .init(window: window, okTimeout: .seconds(10), rateLimitRetries: 2, notConnectedAfter: .seconds(30)))
    }

    @Test func windowBoundsInFlightAndOKsReleaseIt() {
        var q = queue()
        let events = TestSupport.events(5)
        for e in events { q.enqueue(e) }
        #expect(q.takeSendable(at: .zero).map(\.id) == events.prefix(3).map(\.id))
        #expect(q.takeSendable(at: .zero).isEmpty)
        let fx = q.receivedOK(eventID: events[1].id, accepted: true, reason: RelayReason(""), at: .seconds(1), canAuthenticate: false)
        #expect(fx.resolutions == [.init(id: events[1].id, outcome: .accepted)])
        #expect(fx.latency == .seconds(1))
        #expect(q.takeSendable(at: .seconds(1)).map(\.id) == [events[3].id])
    }

    @Test func emptyIDOKSwitchesToOneAtATimeAndIsAttributedWhenDetermined() {
        var q = queue()
        let events = TestSupport.events(5)
        for e in events { q.enqueue(e) }
        _ = q.takeSendable(at: .zero)
        // One of three is rejected without an id: unknown which.
        var fx = q.receivedOK(eventID: "", accepted: false, reason: RelayReason("invalid: nope"), at: .zero, canAuthenticate: false)
        #expect(fx.resolutions.isEmpty)
        #expect(q.oneAtATime)
        fx = q.receivedOK(eventID: events[0].id, accepted: true, reason: RelayReason(""), at: .zero, canAuthenticate: false)
        #expect(fx.resolutions.count == 1)
        // The last one still in flight must be the rejected one.
        fx = q.receivedOK(eventID: events[2].id, accepted: true, reason: RelayReason(""), at: .zero, canAuthenticate: false)
        #expect(fx.resolutions.map(\.id).sorted() == [events[1].id, events[2].id].sorted())
        #expect(fx.resolutions.contains(.init(id: events[1].id, outcome: .rejected(RelayReason("invalid: nope")))))
        // Now strictly one at a time; an id-less answer goes to the single event in flight.
        #expect(q.takeSendable(at: .zero).map(\.id) == [events[3].id])
        fx = q.receivedOK(eventID: "", accepted: false, reason: RelayReason("blocked: x"), at: .zero, canAuthenticate: false)
        #expect(fx.resolutions == [.init(id: events[3].id, outcome: .rejected(RelayReason("blocked: x")))])
    }

    @Test func aTimeoutOnAConnectionThatThenDiesIsForgiven() {
        var q = queue()
        let events = TestSupport.events(2)
        for e in events { q.enqueue(e) }
        _ = q.takeSendable(at: .zero)
        _ = q.receivedOK(eventID: events[1].id, accepted: true, reason: RelayReason(""), at: .seconds(1), canAuthenticate: false)
        // events[0] times out once while frames still come: it goes back to be retried alone.
        _ = q.tick(at: .seconds(10), sinceLastFrame: .seconds(1), disconnectedFor: nil)
        #expect(q.takeSendable(at: .seconds(10)).map(\.id) == [events[0].id])
        // The connection turns out dead and is replaced: the timeout was its doing.
        #expect(q.connectionLost().resolutions.isEmpty)
        #expect(q.takeSendable(at: .seconds(11)).map(\.id) == [events[0].id])
        // On the new connection it gets a full allowance again: retried once more, not given up.
        var fx = q.tick(at: .seconds(21), sinceLastFrame: .seconds(1), disconnectedFor: nil)
        #expect(fx.resolutions.isEmpty)
        #expect(q.takeSendable(at: .seconds(21)).map(\.id) == [events[0].id])
        fx = q.tick(at: .seconds(31), sinceLastFrame: .seconds(1), disconnectedFor: nil)
        #expect(fx.resolutions == [.init(id: events[0].id, outcome: .timedOut)])
    }

    @Test func unansweredEventTimesOutIsRetriedAloneThenGivesUp() {
        var q = queue()
        let events = TestSupport.events(2)
        for e in events { q.enqueue(e) }
        _ = q.takeSendable(at: .zero)
        _ = q.receivedOK(eventID: events[1].id, accepted: true, reason: RelayReason(""), at: .seconds(1), canAuthenticate: false)
        // Frames keep coming (last one 1 s ago) but events[0] has no OK after 10 s.
        var fx = q.tick(at: .seconds(10), sinceLastFrame: .seconds(1), disconnectedFor: nil)
        #expect(!fx.stalled)
        #expect(fx.resolutions.isEmpty)
        #expect(q.oneAtATime)
        #expect(q.takeSendable(at: .seconds(10)).map(\.id) == [events[0].id])
        fx = q.tick(at: .seconds(20), sinceLastFrame: .seconds(1), disconnectedFor: nil)
        #expect(fx.resolutions == [.init(id: events[0].id, outcome: .timedOut)])
        #expect(q.isIdle)
    }

    @Test func silentConnectionIsStalledAndInFlightIsResentAfterReconnect() {
        var q = queue()
        let events = TestSupport.events(3)
        for e in events { q.enqueue(e) }
        _ = q.takeSendable(at: .zero)
        let fx = q.tick(at: .seconds(10), sinceLastFrame: .seconds(10), disconnectedFor: nil)
        #expect(fx.stalled)
        #expect(q.connectionLost().resolutions.isEmpty)
        #expect(q.takeSendable(at: .seconds(11)).map(\.id) == events.map(\.id))
    }

    @Test func rateLimitedSlowsDownRetriesThenReports() {
        var q = queue()
        let e = TestSupport.events(1)[0]
        q.enqueue(e)
        var t = Duration.zero
        for _ in 0..<2 {
            _ = q.takeSendable(at: t)
            let fx = q.receivedOK(eventID: e.id, accepted: false, reason: RelayReason("rate-limited: slow"), at: t, canAuthenticate: false)
            #expect(fx.resolutions.isEmpty)
            #expect(q.pacing > .zero)
            #expect(q.takeSendable(at: t).isEmpty, "paced: not before the pause")
            t += q.pacing
        }
        #expect(q.takeSendable(at: t).count == 1)
        let fx = q.receivedOK(eventID: e.id, accepted: false, reason: RelayReason("rate-limited: slow"), at: t, canAuthenticate: false)
        #expect(fx.resolutions.first?.outcome == .rateLimited(RelayReason("rate-limited: slow")))
    }

    @Test func authRequiredIsHeldUntilAuthenticatedThenRetriedOnce() {
        var q = queue()
        let e = TestSupport.events(1)[0]
        q.enqueue(e)
        _ = q.takeSendable(at: .zero)
        var fx = q.receivedOK(eventID: e.id, accepted: false, reason: RelayReason("auth-required: who"), at: .zero, canAuthenticate: true)
        #expect(fx.needsAuth)
        #expect(fx.resolutions.isEmpty)
        #expect(q.takeSendable(at: .zero).isEmpty)
        q.authenticated()
        #expect(q.takeSendable(at: .zero).count == 1)
        fx = q.receivedOK(eventID: e.id, accepted: false, reason: RelayReason("auth-required: who"), at: .zero, canAuthenticate: true)
        #expect(fx.resolutions.first?.outcome == .authRequired(RelayReason("auth-required: who")))
    }

    @Test func outcomesClassify() {
        #expect(PublishOutcome.duplicate("x").isDelivered)
        #expect(PublishOutcome.rejected(RelayReason("invalid: bad")).isPermanentFailure)
        #expect(PublishOutcome.rejected(RelayReason("blocked: no")).isPermanentFailure)
        #expect(PublishOutcome.rejected(RelayReason("no reason given")).isPermanentFailure)
        #expect(!PublishOutcome.rejected(RelayReason("error: db busy")).isPermanentFailure)
        #expect(!PublishOutcome.rateLimited(RelayReason("rate-limited: x")).isPermanentFailure)
        #expect(!PublishOutcome.timedOut.isPermanentFailure && !PublishOutcome.notConnected.isDelivered)
        #expect(PublishOutcome(accepted: true, reason: RelayReason("duplicate: have")) == .duplicate("have"))
    }

    @Test func disconnectedTooLongFailsPendingAsNotConnected() {
        var q = queue()
        let events = TestSupport.events(4)
        for e in events { q.enqueue(e) }
        _ = q.takeSendable(at: .zero)
        _ = q.connectionLost()
        #expect(q.tick(at: .seconds(5), sinceLastFrame: nil, disconnectedFor: .seconds(5)).resolutions.isEmpty)
        let fx = q.tick(at: .seconds(31), sinceLastFrame: nil, disconnectedFor: .seconds(31))
        #expect(fx.resolutions.count == 4)
        #expect(fx.resolutions.allSatisfy { $0.outcome == .notConnected })
    }
}
