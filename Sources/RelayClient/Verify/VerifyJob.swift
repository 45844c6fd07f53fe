import Dispatch
import NostrCore
import Synchronization

/// One batch, split into chunks that either thread claims by number.
final class VerifyJob: @unchecked Sendable {
    private let events: [Event]
    // Written only for chunks claimed, and read only after every chunk is done.
    private let out: UnsafeMutableBufferPointer<EventVerification>
    private let chunk: Int
    private let chunks: Int
    private let claimed = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let helperDone = DispatchSemaphore(value: 0)

    init(events: [Event], out: UnsafeMutableBufferPointer<EventVerification>, chunk: Int) {
        self.events = events
        self.out = out
        self.chunk = chunk
        self.chunks = (events.count + chunk - 1) / chunk
    }

    /// Claims and verifies chunks until none are left; true when this thread finished the last one.
    @discardableResult
    func work() -> Bool {
        var finishedLast = false
        while true {
            let c = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
            guard c < chunks else { return finishedLast }
            for i in c * chunk..<min(events.count, (c + 1) * chunk) { out[i] = events[i].verify() }
            finishedLast = finished.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == chunks
        }
    }

    /// The helper finished the last chunk: it signals once, and the reading thread waits once.
    func helperFinishedLast() { helperDone.signal() }
    func waitForHelper() { helperDone.wait() }
}
