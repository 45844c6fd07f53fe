import ArgumentParser
import Foundation
import Logging
import SyncAgent

extension RelaySyncCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent: backfill, live sync, mirroring and archiving.",
            discussion: "Without --once it runs until SIGTERM or SIGINT, then drains in-flight work and exits 0."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "One-shot backfill: catch up, deliver everything pending, print a summary, exit.")
        var once = false

        @Flag(help: "Validate the configuration and exit.")
        var check = false

        func run() async throws {
            let configuration = try options.load()
            _ = try configuration.loadSecretKey()
            if check {
                print("\(options.config): OK (\(configuration.pubkeys.count) pubkeys, \(configuration.readableRelays.count) readable and \(configuration.writableRelays.count) writable relays)")
                return
            }
            let logger = LogSetup.makeLogger(level: configuration.logLevel)
            if once {
                let summary = try await SyncAgentRunner(configuration: configuration, logger: logger).runOnce()
                print(summary.text)
                if !summary.succeeded { throw ExitCode(2) }
                return
            }
            // SIGHUP: the same file read again, with the same command-line overrides.
            let options = self.options
            var running: SyncConfiguration? = configuration
            while let current = running {
                let agent = try await SyncAgentRunner(configuration: current, logger: logger)
                running = try await agent.runDaemon(reload: {
                    let next = try options.load()
                    _ = try next.loadSecretKey()
                    return next
                })
            }
        }
    }
}
