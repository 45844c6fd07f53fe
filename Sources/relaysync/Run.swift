import ArgumentParser
import Foundation
import LedgerPostgres
import Logging
import SyncAgent

extension RelaySyncCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the agent: backfill, live sync, mirroring and archiving.",
            discussion: """
                Without --once it runs until SIGTERM or SIGINT, then drains in-flight work and exits 0. \
                With --once: exit 0 when every relay was read and written, 2 when a relay failed. \
                A configuration or key-file mistake exits 78 (with --check too).
                """
        )

        @OptionGroup var options: ConfigOptions
        @OptionGroup var key: KeyOptions

        @Flag(help: "One-shot backfill: catch up, deliver everything pending, print a summary, exit.")
        var once = false

        @Flag(help: "Validate the configuration and exit.")
        var check = false

        func run() async throws {
            let configuration = try options.load(key: key, allowPostgres: true)
            _ = try configuration.loadSecretKey()
            _ = try configuration.loadInboxKeys()
            if check {
                if let ledger = configuration.postgresLedger { try await Self.checkConnection(ledger, config: options.config) }
                print(
                    "\(options.config): OK (\(configuration.pubkeys.count) pubkeys, \(configuration.readableRelays.count) readable and \(configuration.writableRelays.count) writable relays)"
                )
                return
            }
            let logger = configuration.logger
            if once {
                let agent = try await SyncAgentRunner(configuration: configuration, logger: logger)
                let summary: OnceSummary
                do {
                    summary = try await LiveProgress.during("run", logger: logger, format: configuration.logFormat, sample: { agent.progress }) {
                        try await agent.runOnce()
                    }
                    await agent.closeLedger()
                } catch {
                    await agent.closeLedger()
                    throw error
                }
                print(summary.text)
                if !summary.succeeded { throw ExitCode(ExitStatus.relayFailed) }
                return
            }
            // SIGHUP: the same file read again, with the same command-line overrides.
            let options = self.options, key = self.key
            var running: SyncConfiguration? = configuration
            while let current = running {
                // A reload may change `log_level` and `log_format` as well.
                let agent = try await SyncAgentRunner(configuration: current, logger: current.logger)
                do {
                    running = try await agent.runDaemon(reload: {
                        let next = try options.load(key: key, allowPostgres: true)
                        _ = try next.loadSecretKey()
                        _ = try next.loadInboxKeys()
                        return next
                    })
                    await agent.closeLedger()
                } catch {
                    await agent.closeLedger()
                    throw error
                }
            }
        }

        /// Connects to a PostgreSQL ledger once: one line naming what failed (refused, authentication,
        /// missing database, TLS), exit 1; an unreadable password file is a configuration mistake.
        static func checkConnection(_ settings: PostgresLedgerSettings, config: String) async throws {
            do {
                _ = try settings.password()
            } catch {
                throw ConfigError(key: "ledger.password_file", reason: error.reason).inFile(config)
            }
            do {
                try await PostgresLedgerCheck.connect(settings)
            } catch {
                throw CLIError.failure(error.description)
            }
        }
    }
}
