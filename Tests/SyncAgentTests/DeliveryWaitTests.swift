import PeerHarness
import Synchronization
import Testing

@testable import Ledger
@testable import SyncAgent

/// The delivery loop sleeps until it is woken or a retry falls due, never on a fixed poll.
@Suite(.timeLimit(.minutes(1))) struct DeliveryWaitTests {
    @Test func noRetryMeansSleepingUntilWoken() {
        var retries = RetrySchedule()
        #expect(retries.wait(now: 100) == nil)
        retries.roundTookEverythingDue(at: 100, retryingAt: nil)
        #expect(retries.wait(now: 100) == nil)
    }

    @Test func theFirstRetryDecidesTheWakeAndATakenOneIsForgotten() {
        var retries = RetrySchedule(next: 130)
        retries.note(110)
        retries.note(nil)
        #expect(retries.wait(now: 100) == .seconds(10))
        // A full batch took only part of what was due: nothing is forgotten.
        retries.note(150)
        #expect(retries.next == 110)
        // A short batch read at 120 took the retry due at 110; its own retries start at 125.
        retries.roundTookEverythingDue(at: 120, retryingAt: 125)
        #expect(retries.next == 125)
        #expect(retries.wait(now: 120) == .seconds(5))
        // Already due: look again after the ledger's resolution, a second.
        #expect(retries.wait(now: 126) == .seconds(1))
    }

    @Test func aSignalSentBeforeTheWaitIsKept() async {
        let wake = WakeSignal()
        wake.signal()
        // No timeout: this returns only because the signal was kept.
        await wake.wait(timeout: nil)
    }

    @Test func aWaitWithoutTimeoutEndsOnASignalOrOnCancellation() async throws {
        let wake = WakeSignal()
        let done = Atomic<Int>(0)
        let waiter = Task {
            await wake.wait(timeout: nil)
            done.add(1, ordering: .sequentiallyConsistent)
        }
        wake.signal()
        let woken = try await Poll.until(timeout: .seconds(10)) { done.load(ordering: .sequentiallyConsistent) == 1 }
        #expect(woken)
        await waiter.value

        let cancelled = Task { await wake.wait(timeout: nil) }
        cancelled.cancel()
        await cancelled.value
    }

    @Test func aWaitWithATimeoutEndsWhenItPasses() async {
        let wake = WakeSignal()
        let clock = ContinuousClock()
        let start = clock.now
        await wake.wait(timeout: .milliseconds(20))
        #expect(clock.now - start >= .milliseconds(20))
        // The ended wait leaves nothing behind: a later signal is kept for the next wait.
        wake.signal()
        await wake.wait(timeout: nil)
    }

    @Test func aHandoffGivesTheRowsAfterTheLastReadOrSendsTheLoopToTheLedger() throws {
        let wake = WakeSignal()
        let handoff = DeliveryHandoff(wake: wake)
        func rows(_ seqs: [Int64]) -> [PendingDelivery] {
            seqs.map { PendingDelivery(seq: $0, eventID: "e\($0)", kind: 1, relay: "ws://b", rawJSON: "{}", attempts: 0) }
        }
        // No loop open: nothing is kept, and the wake is a plain signal (the one-shot run reads the ledger).
        handoff.hand(rows([1]))
        #expect(wake.signals == 1)
        handoff.open()
        #expect(handoff.take(after: 0, limit: 10) == .readLedger, "a loop's first round reads the ledger")
        handoff.discard()
        handoff.hand(rows([3, 4]))
        handoff.hand(rows([2, 5]))
        #expect(wake.signals == 1, "handing rows over nudges without counting as a signal")
        handoff.withdraw([4])
        // The ledger's read saw every row pending up to 2.
        #expect(handoff.take(after: 2, limit: 1) == .rows(rows([3])))
        #expect(handoff.take(after: 2, limit: 10) == .rows(rows([5])))
        #expect(handoff.take(after: 2, limit: 10) == .rows([]))
        // Past capacity the rows are dropped, and the loop reads the ledger.
        handoff.hand(rows((10..<Int64(10 + DeliveryHandoff.capacity + 1)).map { $0 }))
        #expect(handoff.take(after: 0, limit: 10) == .readLedger)
        handoff.discard()
        handoff.markStale()
        #expect(handoff.take(after: 0, limit: 10) == .readLedger)
        #expect(wake.signals == 2)
    }
}
