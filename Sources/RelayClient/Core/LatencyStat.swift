/// A latency summary in milliseconds.
public struct LatencyStat: Sendable, Codable, Equatable {
    public var medianMs: Double
    public var p90Ms: Double
    public var samples: Int
}

/// The last few samples of one latency, summarised on demand.
struct LatencySamples: Sendable {
    private var ring: [Double] = []
    private var next = 0
    private(set) var total = 0
    static let capacity = 256

    mutating func add(_ duration: Duration) {
        let ms = duration.milliseconds
        if ring.count < Self.capacity { ring.append(ms) } else { ring[next] = ms }
        next = (next + 1) % Self.capacity
        total += 1
    }

    var stat: LatencyStat? {
        guard !ring.isEmpty else { return nil }
        let sorted = ring.sorted()
        func q(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))] }
        return LatencyStat(medianMs: q(0.5), p90Ms: q(0.9), samples: total)
    }
}
