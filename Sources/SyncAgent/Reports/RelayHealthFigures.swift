import RelayClient

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

extension RelayHealthFigures {
    /// Summarises a live connection's health: errors are bad frames and
    /// events per frame received, plus a small weight per reconnect (downtime
    /// itself already lowers the uptime ratio).
    public init(_ h: RelayHealth) {
        let frames = max(1, h.eventsReceived + h.malformedFrames)
        let badFrames = Double(h.invalid + h.malformedFrames) / Double(frames)
        let reconnects = Double(h.reconnects) / Double(h.reconnects + 10)
        self.init(
            uptimeRatio: h.uptimeRatio, medianLatencyMs: h.latency.reqToEOSE?.medianMs,
            errorRate: min(1, badFrames + reconnects),
            rejectionRate: Double(h.rejected) / Double(max(1, h.accepted + h.rejected)),
            eventsServed: h.eventsReceived)
    }
}
