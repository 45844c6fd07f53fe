import Foundation

/// What long work has done so far, read from its counters a few times a second.
public struct ProgressSample: Sendable, Equatable {
    /// Units done (events received, events restored).
    public var done: Int
    /// Units to do in all, when known: the line then shows a percentage and time left.
    public var total: Int?
    /// Further figures: shown after the rate on a terminal (`delivered 120`), and as log metadata.
    public var fields: [Field]

    public struct Field: Sendable, Equatable {
        /// Log metadata key, `events.new`.
        public var key: String
        /// Word on the terminal line, `new`.
        public var label: String
        public var value: Int

        public init(key: String, label: String, value: Int) {
            self.key = key
            self.label = label
            self.value = value
        }
    }

    public init(done: Int, total: Int? = nil, fields: [Field] = []) {
        self.done = done
        self.total = total
        self.fields = fields
    }
}

/// The live progress line, as a pure function of the figures (tested without a terminal).
public enum ProgressLine {
    /// `restore: 1,234 of 10,000 events (12%) · 820/s · 0:11 left` when the total is known,
    /// `run: 1,234 events · new 300 · delivered 120 · 820/s · 0:42` when not. A rate is shown once
    /// known; the time left only with a total and a rate above zero.
    public static func format(
        label: String, unit: String = "events", done: Int, total: Int?, ratePerSecond: Double?,
        elapsed: Duration, fields: [ProgressSample.Field] = []
    ) -> String {
        var parts: [String] = []
        if let total, total > 0 {
            let percent = min(100, Int((Double(done) / Double(total) * 100).rounded(.down)))
            parts.append("\(label): \(grouped(done)) of \(grouped(total)) \(unit) (\(percent)%)")
        } else {
            parts.append("\(label): \(grouped(done)) \(unit)")
        }
        for field in fields { parts.append("\(field.label) \(grouped(field.value))") }
        if let rate = ratePerSecond, rate.isFinite, rate >= 0 { parts.append("\(rateText(rate))/s") }
        if let total, total > 0, let rate = ratePerSecond, rate > 0, rate.isFinite, done < total {
            parts.append("\(clock(Double(total - done) / rate)) left")
        } else {
            parts.append(clock(elapsed.secondsValue))
        }
        return parts.joined(separator: " · ")
    }

    /// 1234567 → `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `3.5` below 10, whole numbers above.
    public static func rateText(_ rate: Double) -> String {
        rate < 10 ? String(format: "%.1f", rate) : grouped(Int(rate.rounded()))
    }

    /// `0:42`, `12:05`, `3:02:07`; an estimate beyond 99 hours reads `>99h`.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let s = max(0, Int(seconds.rounded()))
        if s >= 99 * 3600 { return ">99h" }
        let h = s / 3600, m = s / 60 % 60, r = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, r) : String(format: "%d:%02d", m, r)
    }
}

/// Units per second over the last few seconds: a bounded window of samples, so a burst or a stall
/// shows within seconds and memory stays constant however long the work runs.
public struct RateWindow: Sendable {
    private var samples: [(at: Double, done: Int)] = []
    private let span: Double
    private let capacity: Int

    /// `span` seconds of history, at most `capacity` samples.
    public init(span: Double = 10, capacity: Int = 64) {
        self.span = span
        self.capacity = capacity
    }

    /// Adds a sample taken `at` seconds from the start; returns the rate, or nil before a second of history.
    public mutating func add(at: Double, done: Int) -> Double? {
        // Samples closer together than span/capacity replace the newest one, so however often it
        // is called the window still covers `span` seconds with at most `capacity` samples.
        if samples.count >= 2, at - samples[samples.count - 2].at < span / Double(capacity) {
            samples[samples.count - 1] = (at, done)
        } else {
            samples.append((at, done))
        }
        while samples.count > capacity || (samples.count > 2 && at - samples[1].at >= span) { samples.removeFirst() }
        guard let first = samples.first, at - first.at >= 1 else { return nil }
        return max(0, Double(done - first.done) / (at - first.at))
    }
}

extension Duration {
    fileprivate var secondsValue: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
