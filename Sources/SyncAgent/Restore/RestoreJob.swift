import Foundation
import Logging
import NostrCore
import RelayClient

/// Publishes archive files into a relay: `RestoreFeed` reads, verifies, filters and
/// de-duplicates on its own thread while batches go out through the relay's bounded
/// in-flight window, two batches at a time so the window never drains between them.
/// Accepted ids go to a journal so an interrupted restore resumes without
/// re-sending them. Replaceable and addressable events are sent last,
/// oldest first, so the relay ends up keeping the newest version.
public struct RestoreJob: Sendable {
    public struct Options: Sendable {
        public var target: RelayURL
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

        public init(target: RelayURL, files: [URL]) {
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

    /// Batches published at once while restoring regular events: the next batch fills the
    /// relay's window while the last one's final OKs come back, so the window never drains.
    static let batchesInFlight = 2

    /// How long a restore waits for the relay's first connection, as `run --once` does: a refused
    /// or silent relay may be restarting; a failure waiting cannot change ends the wait at once.
    static let connectWait: Duration = .seconds(15)

    public func run() async throws -> RestoreReport {
        let started = ContinuousClock.now
        var report: RestoreReport
        if options.dryRun {
            report = try await publish(RestoreFeed(options: options, restored: []), relay: nil, journal: nil)
        } else {
            var configuration = RelayConfiguration(url: options.target)
            configuration.authKey = options.authKey
            let relay = Relay(configuration: configuration, logger: logger)
            report = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                defer { group.cancelAll() }
                guard await relay.waitUntilConnected(timeout: Self.connectWait, orPermanentFailure: true) else {
                    throw RestoreError.notConnected(options.target, why: await relay.connectionFailure(waited: Self.connectWait))
                }
                // Opened once the relay answers: a restore that could not start leaves no journal behind.
                let journal = try RestoreJournal(url: options.journal ?? RestoreJournal.defaultURL(for: options.target, besides: options.files[0]))
                return try await publish(RestoreFeed(options: options, restored: journal.ids), relay: relay, journal: journal)
            }
        }
        report.seconds = (ContinuousClock.now - started).seconds
        return report
    }

    private func publish(_ feed: RestoreFeed, relay: Relay?, journal: RestoreJournal?) async throws -> RestoreReport {
        var report = RestoreReport(target: options.target, dryRun: options.dryRun)
        defer { feed.stop() }
        let maxAttempts = options.maxAttempts
        try await withThrowingTaskGroup(of: RestoreBatchResult.self) { group in
            var inFlight = 0
            func settleOne() async throws {
                guard let done = try await group.next() else { return }
                inFlight -= 1
                done.apply(to: &report)
                try journal?.record(done.done)
            }
            for try await item in feed.items() {
                switch item {
                case let .events(batch, replaceable):
                    feed.taken()
                    guard let relay else {
                        report.wouldSend += batch.count
                        continue
                    }
                    // Versions of one replaceable event must reach the relay oldest first.
                    while inFlight >= (replaceable ? 1 : Self.batchesInFlight) { try await settleOne() }
                    group.addTask { await RestoreSender.send(batch, to: relay, maxAttempts: maxAttempts) }
                    inFlight += 1
                case let .finished(reading):
                    report.absorbReading(reading)
                }
            }
            while inFlight > 0 { try await settleOne() }
        }
        return report
    }
}

/// A restore that could not start, naming the relay it was for and why.
public struct RestoreError: Error, CustomStringConvertible {
    private enum Kind: Sendable {
        /// The connection's one line (`Relay.connectionFailure`): refused, DNS, certificate…
        case notConnected(why: String)
    }

    public let target: RelayURL
    private let kind: Kind

    static func notConnected(_ target: RelayURL, why: String) -> RestoreError { RestoreError(target: target, kind: .notConnected(why: why)) }

    public var description: String {
        switch kind {
        case let .notConnected(why): "restore into \(target): \(why)"
        }
    }
}
