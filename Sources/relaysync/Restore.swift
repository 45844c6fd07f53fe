import ArgumentParser
import Foundation
import Logging
import NostrCore
import SyncAgent

extension RelaySyncCommand {
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish archive files into a relay, with a report by reason.",
            discussion: """
                Every event is verified first. Accepted ids are journaled, so an interrupted restore resumes \
                without re-sending them. Replaceable and addressable events go last, oldest first. Exits 1 if \
                any event was neither accepted nor already there (skipped events do not count), with one line per reason.
                """
        )

        @Argument(help: "Archive files or folders (.jsonl.zst, .jsonl, from RelaySync or other tools).") var paths: [String]
        @Option(help: "Relay to restore into (ws:// or wss://).") var to: String
        @Option(help: "Only these kinds, comma-separated.") var kinds: String?
        @Option(help: "Oldest created_at (unix seconds or ISO 8601 date).") var since: String?
        @Option(help: "Newest created_at (unix seconds or ISO 8601 date).") var until: String?
        @Flag(help: "Read and verify everything, send nothing.") var dryRun = false
        @Option(help: "Restore journal (default: beside the first archive).") var journal: String?
        @Option(help: "File with the nsec/hex key for NIP-42 AUTH (or set RELAYSYNC_SECRET_KEY).") var keyFile: String?
        @Option(help: "Log level.") var logLevel: String = "warning"
        @Flag(help: "Print the report as JSON.") var json = false

        func run() async throws {
            guard let target = RelayURL.normalize(to) else { throw ValidationError("--to: not a ws:// or wss:// URL") }
            var options = RestoreJob.Options(target: target, files: try archiveFiles(paths))
            if let kinds {
                options.kinds = try kinds.split(separator: ",").map {
                    guard let k = Int($0.trimmingCharacters(in: .whitespaces)), Event.kindRange.contains(k) else { throw ValidationError("--kinds: \($0) is not a kind") }
                    return k
                }
            }
            options.since = try since.map { try parseTime($0, "--since") }
            options.until = try until.map { try parseTime($0, "--until") }
            options.dryRun = dryRun
            options.journal = journal.map { URL(fileURLWithPath: $0) }
            options.authKey = try loadSecretKey(keyFile: keyFile)
            let report = try await RestoreJob(options: options, logger: LogSetup.makeLogger(level: logLevel)).run()
            if json {
                printJSON(report)
            } else {
                print(report.text)
            }
            if !report.succeeded { throw ExitCode(1) }
        }
    }
}
