import ArgumentParser
import Foundation
import Ledger
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
            let configuration = try options.load()
            let ledger = try Ledger(path: configuration.ledgerPath.path)
            let report = try StatusReport.make(configuration: configuration, ledger: ledger)
            print(json ? report.json : report.text)
        }
    }
}
