/// The measured health of a relay that selection works from (a summary of
/// RelayClient's live health, or recorded figures in tests).
public struct RelayHealthFigures: Sendable, Codable, Equatable {
    public var uptimeRatio: Double
    /// Median REQ-to-EOSE latency in milliseconds; nil when never measured.
    public var medianLatencyMs: Double?
    /// Failed connection attempts and errors per attempt, 0...1.
    public var errorRate: Double
    /// Rejected publishes per publish, 0...1.
    public var rejectionRate: Double
    public var eventsServed: Int

    public init(uptimeRatio: Double, medianLatencyMs: Double?, errorRate: Double, rejectionRate: Double, eventsServed: Int) {
        self.uptimeRatio = uptimeRatio
        self.medianLatencyMs = medianLatencyMs
        self.errorRate = errorRate
        self.rejectionRate = rejectionRate
        self.eventsServed = eventsServed
    }

    /// A relay never measured gets the benefit of the doubt, but ranks
    /// below a relay that has proven itself.
    public static let unmeasured = RelayHealthFigures(uptimeRatio: 0.9, medianLatencyMs: nil, errorRate: 0, rejectionRate: 0, eventsServed: 0)
}
