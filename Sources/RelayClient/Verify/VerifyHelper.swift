import Foundation

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
