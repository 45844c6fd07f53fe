import ArgumentParser
import SyncAgent

extension RelaySyncCommand {
    struct Relays: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "relays",
            abstract: "List every relay in use: where it came from, its role, score and last recorded health.",
            discussion: """
                Configured relays, discovery's indexers, and the relays that the authors' cached NIP-65 relay \
                lists make the agent read (for which authors), with relays named but skipped and why. Health \
                figures are those the agent last recorded in the ledger.
                """
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            try options.printReport(RelaysReport.self, json: json)
        }
    }
}
