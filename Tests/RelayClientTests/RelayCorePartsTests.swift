import Foundation
import NIOCore
import NostrCore
import PeerHarness
import Testing

@testable import RelayClient

/// The pieces the relay core hands its decisions to: when the timer loop is rung, when a publish
/// is refused before it is sent, and the AUTH answer.
struct RelayCorePartsTests {
    @Test func aDeadlineRingsOnlyWhenTheLoopWouldSleepPastIt() {
        var schedule = WakeSchedule()
        let answer1 = schedule.due(.seconds(5))
        #expect(answer1)
        // Already due sooner: a later deadline needs no ring.
        let answer2 = schedule.due(.seconds(7))
        #expect(!answer2)
        let answer3 = schedule.due(.seconds(2))
        #expect(answer3)
        schedule.ticking = true
        let answer4 = schedule.due(.seconds(1))
        #expect(!answer4)
    }

    @Test func theNextWaitIsTheEarliestDeadlineAndNilWhenNothingWaits() {
        var schedule = WakeSchedule()
        let answer5 = schedule.next([nil, .seconds(9), .seconds(4)], now: .seconds(1))
        #expect(answer5 == .seconds(3))
        // The loop sleeps until 4 s now: a deadline at 6 s needs no ring.
        let answer6 = schedule.due(.seconds(6))
        #expect(!answer6)
        let answer7 = schedule.next([.milliseconds(500)], now: .seconds(1))
        #expect(answer7 == WakeSchedule.overdueRetry)
        let answer8 = schedule.next([nil], now: .seconds(1))
        #expect(answer8 == nil)
        // Sleeping until rung: any deadline rings.
        let answer9 = schedule.due(.seconds(60))
        #expect(answer9)
    }

    /// A live stream's publishes find the timer loop already due by their OK timeout: the first
    /// rings it, the next one (sent while the first awaits its OK) does not.
    @Test func aPublishRingsTheTimerLoopOnlyWhenItsDeadlineComesBeforeTheLoopWakes() async throws {
        let core = RelayCore(configuration: RelayConfiguration(url: "ws://127.0.0.1:9"), logger: TestSupport.logger)
        _ = await core.begin()
        let opened = await core.opened(outbound: Outbox(), deflate: false, replies: ReadPacer.Gauge())
        #expect(opened != nil)
        // The loop's turn: nothing waits on time, so it sleeps until rung.
        let idle = await core.tick()
        #expect(idle == nil)
        _ = core.alarm.takeRing()
        let events = TestSupport.events(2).map(OutboundEvent.init)
        let first = Task { await core.publish(events[0]) }
        let firstSent = try await TestSupport.waitFor(seconds: 5) { await core.publishQueue.inFlight.count == 1 }
        #expect(firstSent)
        #expect(core.alarm.takeRing())
        // The loop runs and now sleeps until the first event's OK timeout.
        let wait = await core.tick()
        #expect(wait != nil)
        _ = core.alarm.takeRing()
        let second = Task { await core.publish(events[1]) }
        let secondSent = try await TestSupport.waitFor(seconds: 5) { await core.publishQueue.inFlight.count == 2 }
        #expect(secondSent)
        #expect(!core.alarm.takeRing())
        await core.shutdown()
        #expect(await first.value == .notConnected)
        #expect(await second.value == .notConnected)
    }

    @Test func anOutboundEventFramesItsTextTheSameFromAStringAndFromBytes() throws {
        let event = try SecretKey.generate().sign(kind: 1, content: "emoji 🚀, \"quoted\"", createdAt: 1_700_000_000)
        let fromText = OutboundEvent(event)
        let fromBytes = OutboundEvent(id: event.id, text: .bytes(Array(event.rawJSON.utf8)))
        #expect(fromText == fromBytes)
        #expect(fromBytes.rawJSON == event.rawJSON)
        #expect(fromBytes.rawByteCount == event.rawJSON.utf8.count)
        #expect(String(buffer: fromBytes.frame) == ClientMessage.event(event).encoded)
        #expect(String(buffer: fromText.frame) == ClientMessage.event(event).encoded)
    }

    @Test func aPublishIsRefusedWhenNotRunningOrLargerThanTheRelaysLimit() {
        let event = OutboundEvent(id: String(repeating: "a", count: 64), rawJSON: String(repeating: "x", count: 100))
        #expect(PublishAdmission.refusal(of: event, running: false, maxMessageLength: nil) == .notConnected)
        #expect(PublishAdmission.refusal(of: event, running: true, maxMessageLength: nil) == nil)
        #expect(PublishAdmission.refusal(of: event, running: true, maxMessageLength: 0) == nil)
        #expect(PublishAdmission.refusal(of: event, running: true, maxMessageLength: 112) == nil)
        guard case let .rejected(reason)? = PublishAdmission.refusal(of: event, running: true, maxMessageLength: 111) else {
            Issue.record("an event over max_message_length was not refused")
            return
        }
        #expect(reason.raw.contains("max_message_length 111"))
    }

    @Test func theAuthAnswerNamesTheRelayAndTheChallengeAndVerifies() throws {
        let key = SecretKey.generate()
        let event = try AuthResponse.event(answering: "c-123", relay: "wss://relay.example.com", key: key, now: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(event.kind == Kind.clientAuthentication)
        #expect(event.tags == [["relay", "wss://relay.example.com"], ["challenge", "c-123"]])
        #expect(event.createdAt == 1_700_000_000)
        #expect(event.verify().isValid)
    }
}
