import Synchronization
import Testing

@testable import RelayClient

@Suite("withTimeout (no I/O)")
struct WithTimeoutTests {
    @Test func anOperationThatFinishesInTimeGivesItsValueEvenWhenNil() async {
        let value: Int?? = await withTimeout(.seconds(10)) { Int?.none }
        #expect(value == .some(nil))
    }

    @Test(.timeLimit(.minutes(1)))
    func onTimeoutWakesAnOperationThatIgnoresCancellation() async {
        let signal = OneShotSignal()
        // `OneShotSignal.wait` would end on cancellation anyway; a detached wait would not,
        // so onTimeout is what ends it here.
        let value: Bool? = await withTimeout(.milliseconds(50), onTimeout: { signal.fire() }) {
            await Task.detached { await signal.wait() }.value
            return true
        }
        #expect(value == nil)
        #expect(signal.hasFired, "the timeout, not the operation, ended it")
    }
}
