import NostrCore
import Synchronization
import Testing

@testable import RelayClient

@Suite("Subscription table (no I/O)")
struct SubscriptionTableTests {
    func table(eoseTimeout: Duration = .seconds(30)) -> SubscriptionTable {
        SubscriptionTable(settings: .init(eoseTimeout: eoseTimeout, authTimeout: .seconds(10), recentIDs: 100))
    }

    func handle(_ id: String, live: Bool = false) -> SubscriptionHandle {
        SubscriptionHandle(id: id, capacity: 100, live: live) { _ in }
    }

    /// The actions as short text, so a test reads like the wire.
    func wire(_ actions: [SubscriptionTable.Action]) -> [String] {
        actions.map { action in
            switch action {
            case let .send(.req(sub, filters)): "REQ \(sub) limit=\(filters.map { $0.limit.map(String.init) ?? "-" }.joined(separator: ","))"
            case let .send(.close(sub)): "CLOSE \(sub)"
            case let .send(other): "send \(other)"
            case let .push(.event(e), h): "push \(h.id) event \(e.id.prefix(6))"
            case let .push(.endOfStoredEvents, h): "push \(h.id) EOSE"
            case let .push(.closed(reason), h): "push \(h.id) closed \(reason.raw)"
            case let .finish(h): "finish \(h.id)"
            case let .log(note): "log \(note)"
            }
        }
    }

    @Test func nothingGoesOutUntilLinkedThenEverythingInCreationOrder() {
        var t = table()
        #expect(t.register(handle("a"), filters: [Filter(kinds: [1])], live: false, at: .zero).isEmpty)
        #expect(t.register(handle("b"), filters: [Filter(kinds: [1])], live: true, at: .zero).isEmpty)
        #expect(wire(t.linked(generation: 1, at: .seconds(1))) == ["REQ a limit=-", "REQ b limit=-"])
        #expect(t["a"]?.activeOn == 1)
    }

    @Test func maxSubscriptionsHoldsTheRestUntilOneEnds() {
        var t = table()
        t.maxActive = 1
        _ = t.linked(generation: 1, at: .zero)
        #expect(wire(t.register(handle("a"), filters: [Filter()], live: false, at: .zero)) == ["REQ a limit=-"])
        #expect(t.register(handle("b"), filters: [Filter()], live: false, at: .zero).isEmpty)
        // a's EOSE ends it, which frees the slot for b.
        #expect(wire(t.eose("a", at: .seconds(1)).actions) == ["push a EOSE", "finish a", "CLOSE a", "finish a", "REQ b limit=-"])
    }

    @Test func aReconnectReissuesLiveSubscriptionsAsAsked() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("live", live: true), filters: [Filter(kinds: [1], limit: 0)], live: true, at: .zero)
        let eose = t.eose("live", at: .milliseconds(40))
        #expect(eose.reqToEOSE == .milliseconds(40))
        #expect(wire(eose.actions) == ["push live EOSE"])
        t.connectionLost()
        #expect(t["live"]?.activeOn == nil)
        #expect(wire(t.linked(generation: 2, at: .seconds(5))) == ["REQ live limit=0"])
        // EOSE is handed to the consumer once, not after every re-issue.
        #expect(t.eose("live", at: .seconds(6)).actions.isEmpty)
    }

    @Test func aLiveLimitZeroThatGetsStoredEventsIsReissuedWithLimitOne() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("live", live: true), filters: [Filter(limit: 0), Filter(kinds: [3], limit: 0)], live: true, at: .zero)
        for e in TestSupport.events(3) {
            guard case .deliver = t.route("live", event: e, valid: true) else { Issue.record("not delivered"); return }
        }
        #expect(wire(t.eose("live", at: .seconds(1)).actions) == ["log ignoresLimitZero(\"live\", storedEvents: 3)", "push live EOSE"])
        t.connectionLost()
        #expect(wire(t.linked(generation: 2, at: .seconds(2))) == ["REQ live limit=1,1"])
        // Events after EOSE are new ones: nothing more to learn from them.
        _ = t.route("live", event: TestSupport.events(1, start: 1_800_000_000)[0], valid: true)
        #expect(t["live"]?.filters.map(\.limit) == [1, 1])
    }

    @Test func aLiveLimitZeroThatTheRelayHonoursStaysLimitZero() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("live", live: true), filters: [Filter(limit: 0)], live: true, at: .zero)
        _ = t.eose("live", at: .seconds(1))
        t.connectionLost()
        #expect(wire(t.linked(generation: 2, at: .seconds(2))) == ["REQ live limit=0"])
    }

    @Test func routingDropsInvalidOutOfRangeAndReplayedEventsButCountsThemAll() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        let h = handle("a")
        let key = SecretKey.generate()
        _ = t.register(h, filters: [Filter(authors: [TestSupport.key.publicKey])], live: false, at: .zero)
        let mine = TestSupport.events(1)[0]
        let theirs = TestSupport.events(1, key: key)[0]
        guard case .deliver = t.route("a", event: mine, valid: true) else { Issue.record("not delivered"); return }
        guard case .duplicate = t.route("a", event: mine, valid: true) else { Issue.record("replay delivered"); return }
        guard case .outOfRange = t.route("a", event: theirs, valid: true) else { Issue.record("foreign author delivered"); return }
        guard case .invalid = t.route("a", event: mine, valid: false) else { Issue.record("invalid delivered"); return }
        guard case .unknown = t.route("zz", event: mine, valid: true) else { Issue.record("unknown subscription routed"); return }
        t.unreadable("a")
        #expect(h.rawCount.withLock { $0 } == 5)
    }

    @Test func aQueryWithoutEOSEInTimeIsClosedWithAnError() {
        var t = table(eoseTimeout: .seconds(10))
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("q"), filters: [Filter()], live: false, at: .zero)
        let early = t.tick(at: .seconds(9))
        #expect(early.actions.isEmpty && early.awaitingEOSE)
        let late = t.tick(at: .seconds(10))
        #expect(wire(late.actions) == ["log eoseTimedOut(\"q\")", "push q closed error: no EOSE within 10.0 seconds", "CLOSE q", "finish q"])
        #expect(t.count == 0)
        #expect(!t.tick(at: .seconds(11)).awaitingEOSE)
    }

    @Test func authRequiredIsHeldOnceAndReleasedAfterAuthentication() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("a"), filters: [Filter()], live: false, at: .zero)
        guard case .heldForAuth = t.closed("a", reason: RelayReason("auth-required: who"), canAuthenticate: true, at: .seconds(1)) else {
            Issue.record("not held"); return
        }
        // Held subscriptions are not re-issued by a reconnect either, only by authentication.
        #expect(t.linked(generation: 1, at: .seconds(1)).isEmpty)
        #expect(wire(t.releaseHeld(at: .seconds(2))) == ["REQ a limit=-"])
        guard case let .ended(actions) = t.closed("a", reason: RelayReason("auth-required: still"), canAuthenticate: true, at: .seconds(3)) else {
            Issue.record("held twice"); return
        }
        #expect(wire(actions) == ["log closedByRelay(\"a\", auth-required: still)", "push a closed auth-required: still", "finish a", "finish a"])
    }

    @Test func aSubscriptionHeldForAuthThatNeverCompletesEnds() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("a", live: true), filters: [Filter()], live: true, at: .zero)
        _ = t.closed("a", reason: RelayReason("auth-required: who"), canAuthenticate: true, at: .zero)
        #expect(t.tick(at: .seconds(9)).actions.isEmpty)
        #expect(wire(t.tick(at: .seconds(10)).actions) == ["push a closed auth-required: authentication did not complete", "finish a"])
    }

    @Test func withoutAKeyAuthRequiredEndsTheSubscription() {
        var t = table()
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("a"), filters: [Filter()], live: false, at: .zero)
        guard case .ended = t.closed("a", reason: RelayReason("auth-required: who"), canAuthenticate: false, at: .zero) else {
            Issue.record("held without a key"); return
        }
        guard case .unknown = t.closed("a", reason: RelayReason("error: again"), canAuthenticate: false, at: .zero) else {
            Issue.record("closed twice"); return
        }
    }

    @Test func cancellingSendsCloseOnlyOnTheConnectionItsREQWentOutOn() {
        var t = table()
        _ = t.register(handle("never-sent"), filters: [Filter()], live: true, at: .zero)
        #expect(wire(t.cancel("never-sent", at: .zero)) == ["finish never-sent"])
        _ = t.linked(generation: 1, at: .zero)
        _ = t.register(handle("sent"), filters: [Filter()], live: true, at: .zero)
        t.unlinked()
        #expect(wire(t.cancel("sent", at: .zero)) == ["finish sent"])
        #expect(t.cancel("sent", at: .zero).isEmpty)
    }

    @Test func shutdownEndsEverySubscriptionWithAReason() {
        var t = table()
        _ = t.register(handle("a"), filters: [Filter()], live: true, at: .zero)
        #expect(wire(t.shutdown()) == ["push a closed error: relay client shut down", "finish a"])
        #expect(t.count == 0 && t.link == nil)
    }
}
