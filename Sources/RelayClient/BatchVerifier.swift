import Foundation
import NostrCore
import Synchronization

/// Verifies the events of one read together. A signature check is most of what an incoming
/// event costs, and all of one connection's frames are read on one event loop, so a large fetch
/// from one relay would otherwise use one core. A helper thread is offered the batch and claims
/// chunks of it while the reading thread claims the rest; when the helper does not get a core
/// in time the reading thread simply does every chunk, and waits only for a chunk the helper has
/// actually started.
enum BatchVerifier {
    /// Below this many events the hand-off costs more than it saves.
    static let parallelFrom = 16
    static let chunk = 4

    static func verify(_ events: [Event]) -> [EventVerification] {
        guard events.count >= parallelFrom else { return events.map { $0.verify() } }
        var out = [EventVerification](repeating: .valid, count: events.count)
        out.withUnsafeMutableBufferPointer { buffer in
            let job = VerifyJob(events: events, out: buffer, chunk: chunk)
            VerifyHelper.shared.offer(job)
            let finishedLast = job.work()
            VerifyHelper.shared.withdraw(job)
            if !finishedLast { job.waitForHelper() }
        }
        return out
    }
}

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

/// One background thread that helps whichever reader offered the latest batch.
final class VerifyHelper: @unchecked Sendable {
    static let shared = VerifyHelper()

    private let condition = NSCondition()
    private var pending: VerifyJob?
    private var started = false

    func offer(_ job: VerifyJob) {
        condition.lock()
        pending = job
        if !started {
            started = true
            let thread = Thread { [self] in loop() }
            thread.name = "relay-verify"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// A batch its reader finished alone is not started later for nothing.
    func withdraw(_ job: VerifyJob) {
        condition.lock()
        if pending === job { pending = nil }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending == nil { condition.wait() }
            let job = pending!
            pending = nil
            condition.unlock()
            if job.work() { job.helperFinishedLast() }
        }
    }
}
