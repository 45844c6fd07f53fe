import Foundation
import NostrCore

/// The account of a restore: every event read ends in exactly one bucket.
public struct RestoreReport: Sendable, Codable {
    public struct Bucket: Sendable, Codable {
        public var count = 0
        /// A few event ids or `file:line` locations, for the person reading the report.
        public var examples: [String] = []

        mutating func add(_ example: String) {
            count += 1
            if examples.count < 3 { examples.append(example) }
        }

        func merged(_ other: Bucket) -> Bucket {
            Bucket(count: count + other.count, examples: Array((examples + other.examples).prefix(3)))
        }
    }

    public var target: RelayURL
    public var dryRun: Bool
    public var read = 0
    public var accepted = 0
    public var duplicate = 0
    /// Already accepted in an earlier, interrupted restore (from the journal).
    public var alreadyRestored = 0
    public var rejected: [String: Bucket] = [:]
    public var invalid: [String: Bucket] = [:]
    public var skipped: [String: Bucket] = [:]
    /// Gave up after retries (timeouts, rate limits, lost connection).
    public var failed: [String: Bucket] = [:]
    public var wouldSend = 0
    public var seconds: Double = 0

    public init(target: RelayURL, dryRun: Bool) {
        self.target = target
        self.dryRun = dryRun
    }

    /// Adds the reading thread's account: lines read, and those never sent.
    mutating func absorbReading(_ r: RestoreReport) {
        read += r.read
        alreadyRestored += r.alreadyRestored
        invalid.merge(r.invalid) { $0.merged($1) }
        skipped.merge(r.skipped) { $0.merged($1) }
    }

    /// Everything read was accepted, already there, or deliberately skipped.
    public var succeeded: Bool { rejected.isEmpty && invalid.isEmpty && failed.isEmpty }

    public var text: String {
        var lines = ["restore into \(target)\(dryRun ? " (dry run)" : ""): \(succeeded ? "complete" : "INCOMPLETE") in \(String(format: "%.1f", seconds)) s"]
        lines.append(
            "  read \(read) events: \(dryRun ? "\(wouldSend) would be sent" : "\(accepted) accepted, \(duplicate) duplicate"), \(alreadyRestored) restored earlier"
        )
        func section(_ title: String, _ buckets: [String: Bucket]) {
            for (reason, b) in buckets.sorted(by: { $0.value.count > $1.value.count }) {
                lines.append("  \(title) \(b.count): \(reason) (e.g. \(b.examples.joined(separator: ", ")))")
            }
        }
        section("rejected", rejected)
        section("invalid", invalid)
        section("failed", failed)
        section("skipped", skipped)
        return lines.joined(separator: "\n")
    }
}
