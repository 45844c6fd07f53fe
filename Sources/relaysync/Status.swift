import ArgumentParser
import SyncAgent

extension RelaySyncCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show per-relay counts, last success and error, backfill progress and ledger size.",
            discussion: "--json prints the stable form documented in docs/status.md."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            try options.printReport(StatusReport.self, json: json)
        }
    }
}
