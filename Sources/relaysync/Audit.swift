import ArgumentParser
import SyncAgent

extension RelaySyncCommand {
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Compare every configured relay's events with the ledger (NIP-77, or REQ where a relay lacks it).",
            discussion: """
                Per relay: events in the ledger and on the relay, missing on each side, and the method used. \
                With --repair, fetches what the ledger lacks and delivers what writable relays lack. \
                Exit 0 when no gap is left, 1 when a gap remains, 2 when a relay could not be compared.
                """
        )

        @OptionGroup var options: ConfigOptions
        @OptionGroup var key: KeyOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        @Flag(help: "Fetch missing events into the ledger and deliver missing ones to writable relays.")
        var repair = false

        func run() async throws {
            let configuration = try options.load(key: key)
            let logger = configuration.logger
            let agent = try await SyncAgentRunner(configuration: configuration, logger: logger)
            let report = try await LiveProgress.during("audit", logger: logger, format: configuration.logFormat, sample: { agent.progress }) {
                try await agent.audit(repair: repair)
            }
            print(json ? report.json : report.text)
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
