/// When the relay core's timer loop runs next. The loop sleeps until the earliest deadline any
/// state machine returns; a new deadline rings it awake only when it would otherwise sleep past it,
/// so a busy connection does not ring the alarm for every frame.
struct WakeSchedule {
    /// When the loop runs next; nil while it sleeps until rung.
    private var scheduled: Duration?
    /// The loop is running now and works out its next wait itself: no ring needed.
    var ticking = false
    /// How soon to look again at a deadline already past (an overdue OK while the probe decides,
    /// a consumer not reading).
    static let overdueRetry: Duration = .milliseconds(100)

    /// Something may fall due at `deadline`: true when the loop must be rung.
    mutating func due(_ deadline: Duration) -> Bool {
        if ticking { return false }
        if let scheduled, scheduled <= deadline { return false }
        scheduled = deadline
        return true
    }

    /// The earliest of `deadlines` as a wait from `now`; nil when nothing waits on time.
    mutating func next(_ deadlines: [Duration?], now: Duration) -> Duration? {
        guard let next = deadlines.compactMap({ $0 }).min() else {
            scheduled = nil
            return nil
        }
        let wait = next > now ? next - now : Self.overdueRetry
        scheduled = now + wait
        return wait
    }
}
