import ArgumentParser
import Foundation
import Logging
import NostrCore
import SyncAgent

extension RelaySyncCommand {
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Publish archive files into a relay, with a report by reason.",
            discussion: """
                Every event is verified first. Several folders (a cluster's agents each archive to their own) are \
                merged: an event found in more than one is sent once. Accepted ids are journaled, so an interrupted restore resumes \
                without re-sending them. Replaceable and addressable events go last, oldest first. Exits 1 if \
                any event was neither accepted nor already there (skipped events do not count), with one line per reason; \
                2 if the relay could not be reached. On a terminal a live line on stderr shows events restored and the rate.
                """
        )

        @Argument(help: "Archive files or folders (.jsonl.zst, .jsonl, from RelaySync or other tools); with --media-to, the media store folder.")
        var paths: [String]
        @Option(help: "Relay to restore into (ws:// or wss://).") var to: String?
        @Option(name: .customLong("media-to"), help: "Blossom server to upload the media store into (http:// or https://), instead of --to.")
        var mediaTo: String?
        @Option(help: "Only these kinds, comma-separated.") var kinds: String?
        @Option(help: "Oldest created_at (unix seconds or ISO 8601 date).") var since: String?
        @Option(help: "Newest created_at (unix seconds or ISO 8601 date).") var until: String?
        @Flag(help: "Read and verify everything, send nothing.") var dryRun = false
        @Option(help: "Restore journal (default: beside the first archive).") var journal: String?
        @OptionGroup var key: KeyOptions
        @OptionGroup var log: LogOptions
        @Flag(help: "Print the report as JSON.") var json = false

        /// Checked while parsing, so that a mistake is shown with this subcommand's usage (a
        /// `ValidationError` thrown from `run()` comes with the top-level usage instead).
        func validate() throws {
            guard mediaTo == nil else { return }
            guard let to else { throw ValidationError("--to: required (or --media-to for a media store)") }
            guard RelayURL.normalize(to) != nil else { throw ValidationError("--to: not a ws:// or wss:// URL") }
            _ = try parsedKinds()
            _ = try since.map { try parseTime($0, "--since") }
            _ = try until.map { try parseTime($0, "--until") }
        }

        private func parsedKinds() throws -> [Int]? {
            try kinds.map { list in
                try list.split(separator: ",").map {
                    guard let k = Int($0.trimmingCharacters(in: .whitespaces)), Event.kindRange.contains(k) else {
                        throw ValidationError("--kinds: \($0) is not a kind")
                    }
                    return k
                }
            }
        }

        func run() async throws {
            if let mediaTo { return try await restoreMedia(to: mediaTo) }
            guard let to, let target = RelayURL(to) else { throw ValidationError("--to: not a ws:// or wss:// URL") }
            var options = RestoreJob.Options(target: target, files: try archiveFiles(paths))
            options.kinds = try parsedKinds()
            options.since = try since.map { try parseTime($0, "--since") }
            options.until = try until.map { try parseTime($0, "--until") }
            options.dryRun = dryRun
            options.journal = journal.map { URL(fileURLWithPath: $0) }
            options.authKey = try key.load()
            let logger = log.makeLogger(defaultLevel: .warning)
            let progress = RestoreProgress(options: options), job = RestoreJob(options: options, logger: logger)
            let report = try await LiveProgress.during("restore", logger: logger, format: log.logFormat ?? .text, sample: { progress.sample }) {
                try await job.run()
            }
            if json {
                printJSON(report)
            } else {
                print(report.text)
            }
            if !report.succeeded { throw ExitCode(ExitStatus.failure) }
        }
    }
}
