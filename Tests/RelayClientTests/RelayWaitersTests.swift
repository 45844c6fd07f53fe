import NostrCore
import Testing

@testable import RelayClient

/// Holds the waiters the way the relay core does: on one actor.
fileprivate actor Box {
    var waiters = RelayWaiters()
    /// Waiters registered so far, counted as they register.
    var registered = 0

    func reply(_ sub: String, notice: Bool) async -> RelayMessage? {
        await withCheckedContinuation {
            registered += 1; waiters.awaitReply(sub, noticeAnswers: notice, $0)
        }
    }
    /// A reply with a probe sent behind it.
    func reply(_ sub: String, probe: String) async -> RelayMessage? {
        await withCheckedContinuation {
            registered += 1
            let generation = waiters.awaitReply(sub, noticeAnswers: false, $0)
            waiters.sentProbe(probe, for: sub, grace: .seconds(1), generation: generation)
        }
    }
    func probeAnswered(_ probe: String) -> RelayWaiters.ReplyProbe? { waiters.probeAnswered(probe) }
    func wasIgnored(_ sub: String) -> Bool { waiters.wasIgnored(sub) }
    func publish(_ id: String) async -> PublishOutcome {
        await withCheckedContinuation {
            registered += 1; waiters.awaitPublish(id, $0)
        }
    }
    func publish(_ ids: [String]) async -> [String: PublishOutcome] {
        await withCheckedContinuation {
            registered += 1; waiters.awaitPublishes(ids, $0)
        }
    }
    func connection(_ id: Int) async -> Bool {
        if waiters.connectExpired(id) { return false }
        return await withCheckedContinuation {
            registered += 1; waiters.awaitConnection(id, $0)
        }
    }
    func newConnectID() -> Int { waiters.newConnectID() }
    func change(_ body: @Sendable (inout RelayWaiters) -> Void) { body(&waiters) }
    func has(_ check: @Sendable (RelayWaiters) -> Bool) -> Bool { check(waiters) }
}

@Suite("Relay waiters (no I/O)")
struct RelayWaitersTests {
    /// Acts only once `count` waiters are registered.
    fileprivate func until(_ box: Box, registered count: Int) async {
        while await box.registered < count { await Task.yield() }
    }

    @Test func aNoticeAnswersOnlyTheExchangesThatAcceptOne() async {
        let box = Box()
        async let open = box.reply("neg", notice: true)
        async let count = box.reply("count", notice: false)
        await until(box, registered: 2)
        await box.change { $0.notice(.notice("unknown command")) }
        #expect(await open == .notice("unknown command"))
        #expect(await box.has { $0.isAwaitingReply("count") })
        await box.change { $0.answer("count", with: .count(subscription: "count", count: 3, approximate: false)) }
        #expect(await count == .count(subscription: "count", count: 3, approximate: false))
        #expect(await box.has { $0.isEmpty })
    }

    /// A probe's grace ends the wait it was sent for, and only that one: an answer that came
    /// meanwhile, or a later exchange on the same subscription id, is left alone.
    @Test func aProbesGraceEndsOnlyTheWaitItWasSentFor() async {
        let box = Box()
        async let first = box.reply("neg", probe: "p1")
        await until(box, registered: 1)
        let p1 = await box.probeAnswered("p1")
        #expect(p1?.request == "neg")
        #expect(await box.probeAnswered("p1") == nil, "a probe is answered once")
        await box.change { $0.requestIgnored(p1!) }
        #expect(await first == nil)
        #expect(await box.wasIgnored("neg"))
        #expect(await !box.wasIgnored("neg"), "told once")

        // Answered before the grace ran out: the answer stands.
        async let second = box.reply("neg", probe: "p2")
        await until(box, registered: 2)
        let p2 = await box.probeAnswered("p2")!
        await box.change { $0.answer("neg", with: .negMsg(subscription: "neg", message: "61")) }
        #expect(await second == .negMsg(subscription: "neg", message: "61"))
        // The next round reuses the id: the old probe's grace must not end it.
        async let third = box.reply("neg", notice: false)
        await until(box, registered: 3)
        await box.change { $0.requestIgnored(p2) }
        #expect(await box.has { $0.isAwaitingReply("neg") })
        #expect(await !box.wasIgnored("neg"))
        await box.change { $0.answer("neg", with: .negMsg(subscription: "neg", message: "62")) }
        #expect(await third == .negMsg(subscription: "neg", message: "62"))
        #expect(await box.has { $0.isEmpty })
    }

    @Test func aLostConnectionAnswersEveryExchangeWithNil() async {
        let box = Box()
        async let a = box.reply("a", notice: false)
        async let b = box.reply("b", notice: true)
        await until(box, registered: 2)
        await box.change { $0.cancelAllReplies() }
        #expect(await a == nil)
        #expect(await b == nil)
    }

    @Test func aSingleAndABatchWaitingForTheSameEventBothLearnItsOutcome() async {
        let box = Box()
        async let single = box.publish("e1")
        async let batch = box.publish(["e1", "e2"])
        await until(box, registered: 2)
        await box.change { $0.resolve("e1", .accepted) }
        #expect(await single == .accepted)
        await box.change { $0.resolve("e2", .timedOut) }
        #expect(await batch == ["e1": .accepted, "e2": .timedOut])
    }

    @Test func aConnectWaiterExpiredBeforeItWaitsReturnsAtOnce() async {
        let box = Box()
        let id = await box.newConnectID()
        await box.change { $0.expireConnect(id, isOpen: false) }
        #expect(await box.connection(id) == false)
    }

    @Test func connectWaitersLearnWhenTheRelayOpensOrTheirTimeRunsOut() async {
        let box = Box()
        async let first = box.connection(1)
        async let second = box.connection(2)
        await until(box, registered: 2)
        await box.change { $0.expireConnect(1, isOpen: false) }
        #expect(await first == false)
        await box.change { $0.connectionSettled(open: true) }
        #expect(await second == true)
    }
}
