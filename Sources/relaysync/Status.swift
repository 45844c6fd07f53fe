import ArgumentParser
import SyncAgent

extension RelaySyncCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show per-relay counts, last success and error, backfill progress and ledger size.",
            discussion: "--json prints the stable form documented in docs/status.md."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let configuration = try options.load(allowPostgres: true)
            if let settings = configuration.postgresLedger {
                let report: PostgresStatusReport
                do {
                    report = try await PostgresStatusReport.make(configuration: configuration, settings: settings)
                } catch {
                    throw CLIError.failure("\(error)")
                }
                print(json ? report.json : report.text)
                return
            }
            try options.printReport(StatusReport.self, json: json)
        }
    }
}
