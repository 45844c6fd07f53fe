/// Where a backfill stands after a page, so the caller can persist and resume it.
public struct FetchCursor: Sendable, Equatable, Codable {
    /// Resume with `until = nextUntil` (inclusive); nil when nothing is left.
    public let nextUntil: Int64?
    public let complete: Bool

    public init(nextUntil: Int64?, complete: Bool) {
        self.nextUntil = nextUntil
        self.complete = complete
    }
}
