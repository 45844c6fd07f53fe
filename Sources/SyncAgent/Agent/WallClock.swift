import Foundation

/// Unix seconds from the system clock, for what the ledger records and what relays compare
/// (`created_at`-style times). Intervals are measured with `ContinuousClock` instead.
enum WallClock {
    static func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
