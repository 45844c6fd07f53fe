/// Totals of one `fetchAll`.
public struct FetchSummary: Sendable, Equatable, Codable {
    /// Distinct valid in-range events handed to `onPage`.
    public var events = 0
    /// REQs sent.
    public var pages = 0
    public var duplicatesDropped = 0
    public var outOfRangeDropped = 0
    public var seconds: Double = 0
    /// Seconds (created_at values) whose events exceeded the relay's cap even in a one-second
    /// query, after splitting by kind and author: some events there may be missing.
    public var cappedSeconds: [Int64] = []

    public init() {}
}
