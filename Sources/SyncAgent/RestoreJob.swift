import Archive
import Foundation
import Logging
import NostrCore
import RelayClient

/// Publishes archive files into a relay: every line is verified, filtered,
/// de-duplicated, then sent through the relay's bounded in-flight window.
/// Accepted ids go to a journal so an interrupted restore resumes without
/// re-sending them. Replaceable and addressable events are sent last,
/// oldest first, so the relay ends up keeping the newest version.
public struct RestoreJob: Sendable {
    public struct Options: Sendable {
        public var target: String
        public var files: [URL]
        public var kinds: [Int]?
        public var since: Int64?
        public var until: Int64?
        public var dryRun = false
        /// Default: beside the first file, named after the target.
        public var journal: URL?
        public var authKey: SecretKey?
        /// Attempts per event for transient failures (rate limits, timeouts).
        public var maxAttempts = 5
        public var batchSize = 500

        public init(target: String, files: [URL]) {
            self.target = target
            self.files = files
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws -> RestoreReport {
        let started = ContinuousClock.now
        var report = RestoreReport(target: options.target, dryRun: options.dryRun)
        let journal = try options.dryRun ? nil : RestoreJournal(url: options.journal ?? RestoreJournal.defaultURL(for: options.target, besides: options.files[0]))
        if options.dryRun {
            var sender = RestoreSender(relay: nil, journal: nil, options: options)
            try await scan(&report, &sender)
        } else {
            var configuration = RelayConfiguration(url: options.target)
            configuration.authKey = options.authKey
            let relay = Relay(configuration: configuration, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                defer { group.cancelAll() }
                guard await relay.waitUntilConnected(timeout: .seconds(15)) else {
                    throw RestoreError(target: options.target, reason: "could not connect")
                }
                var sender = RestoreSender(relay: relay, journal: journal, options: options)
                try await scan(&report, &sender)
            }
        }
        report.seconds = (ContinuousClock.now - started).seconds
        return report
    }

    private func scan(_ report: inout RestoreReport, _ sender: inout RestoreSender) async throws {
        var seen = Set<String>()
        var replaceables: [Event] = []
        let now = Int64(Date().timeIntervalSince1970)
        for file in options.files {
            let reader = ArchiveReader(url: file)
            var pending: [Event] = []
            var lines: [(Event, String)] = []
            try reader.forEachLine { line in
                report.read += 1
                let place = "\(file.lastPathComponent):\(line.lineNumber)"
                let event: Event
                do throws(EventParseError) { event = try Event(json: line.text) } catch {
                    report.invalid[error.field.map { "malformed \($0)" } ?? "not an event", default: .init()].add(place)
                    return
                }
                let verdict = event.verify()
                guard verdict.isValid else {
                    report.invalid[verdict == .badSignature ? "bad signature" : "id does not match content", default: .init()].add(place)
                    return
                }
                guard seen.insert(event.id).inserted else {
                    report.skipped["duplicate within the archives", default: .init()].add(event.id)
                    return
                }
                if let skip = skipReason(event, now: now) {
                    report.skipped[skip, default: .init()].add(event.id)
                    return
                }
                lines.append((event, place))
            }
            for p in reader.problems {
                report.invalid["damaged archive: \(p.reason)", default: .init()].add("\(file.lastPathComponent) byte \(p.offset)")
            }
            for (event, _) in lines {
                if sender.journal?.contains(event.id) ?? false {
                    report.alreadyRestored += 1
                } else if event.kindClass == .replaceable || event.kindClass == .addressable {
                    replaceables.append(event)
                } else {
                    pending.append(event)
                    if pending.count >= options.batchSize {
                        try await sender.send(pending, into: &report)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            }
            try await sender.send(pending, into: &report)
        }
        replaceables.sort { $0.createdAt != $1.createdAt ? $0.createdAt < $1.createdAt : $0.id > $1.id }
        for start in stride(from: 0, to: replaceables.count, by: options.batchSize) {
            try await sender.send(Array(replaceables[start..<min(start + options.batchSize, replaceables.count)]), into: &report)
        }
    }

    func skipReason(_ e: Event, now: Int64) -> String? {
        if let kinds = options.kinds, !kinds.contains(e.kind) { return "kind not in --kinds" }
        if let since = options.since, e.createdAt < since { return "older than --since" }
        if let until = options.until, e.createdAt > until { return "newer than --until" }
        if e.kindClass == .ephemeral { return "ephemeral kind: relays do not store it" }
        if e.isExpired(at: now) { return "expired (NIP-40): relays reject or drop it" }
        return nil
    }
}

public struct RestoreError: Error, CustomStringConvertible {
    public let target: String
    public let reason: String
    public var description: String { "restore into \(target): \(reason)" }
}

/// Sends batches, retries transient failures, records outcomes.
struct RestoreSender {
    let relay: Relay?
    let journal: RestoreJournal?
    let options: RestoreJob.Options

    mutating func send(_ events: [Event], into report: inout RestoreReport) async throws {
        guard !events.isEmpty else { return }
        guard let relay else {
            report.wouldSend += events.count
            return
        }
        var queue = events
        var attempt = 0
        while !queue.isEmpty {
            attempt += 1
            let outcomes = await relay.publish(queue)
            var retry: [Event] = []
            var done: [String] = []
            for e in queue {
                let outcome = outcomes[e.id] ?? .timedOut
                switch outcome {
                case .accepted:
                    report.accepted += 1
                    done.append(e.id)
                case .duplicate:
                    report.duplicate += 1
                    done.append(e.id)
                default:
                    if outcome.isPermanentFailure {
                        report.rejected[Self.bucket(outcome), default: .init()].add(e.id)
                    } else if attempt >= options.maxAttempts {
                        report.failed[Self.bucket(outcome), default: .init()].add(e.id)
                    } else {
                        retry.append(e)
                    }
                }
            }
            try journal?.record(done)
            queue = retry
            if !queue.isEmpty { try await Task.sleep(for: .seconds(min(8, 1 << (attempt - 1)))) }
        }
    }

    /// One line per reason: digits are folded so "invalid: 1600000000 is too old"
    /// and "invalid: 1600000001 is too old" count together.
    static func bucket(_ outcome: PublishOutcome) -> String {
        let raw: String
        switch outcome {
        case let .rejected(r), let .rateLimited(r), let .authRequired(r): raw = r.raw.isEmpty ? "rejected without a reason" : r.raw
        case .timedOut: raw = "no OK from the relay in time"
        case .notConnected: raw = "connection lost"
        default: raw = "\(outcome)"
        }
        return raw.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression)
    }
}
