/// When the delivery loop must next look at the ledger for retries, decided without I/O. New
/// deliveries and requeues signal the loop's wake; retries fall due on their own, so the loop
/// keeps the first time one is due and sleeps until then. Unix seconds, as the ledger keeps them.
struct RetrySchedule: Sendable, Equatable {
    /// The first retry not yet taken; nil when none waits.
    private(set) var next: Int64?

    init(next: Int64? = nil) {
        self.next = next
    }

    /// A retry falls due at `at` (nil: none).
    mutating func note(_ at: Int64?) {
        guard let at else { return }
        next = min(next ?? at, at)
    }

    /// A round read every delivery due at `readAt` (the batch was not full), and scheduled its
    /// own retries from `retryingAt` on: what was due by then has been taken.
    mutating func roundTookEverythingDue(at readAt: Int64, retryingAt: Int64?) {
        if let n = next, n <= readAt { next = nil }
        note(retryingAt)
    }

    /// How long to sleep at `now` unless woken: nil (until woken) when no retry waits; at least
    /// a second, the ledger's resolution.
    func wait(now: Int64) -> Duration? {
        next.map { .seconds(max(1, $0 - now)) }
    }
}
