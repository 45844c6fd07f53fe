import ArgumentParser
import Foundation
import Logging
import NostrCore
import SyncAgent

extension RelaySyncCommand {
    struct Diagnose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diagnose",
            abstract: "Connect to relays and report reachability, NIP-11, latency, AUTH, COUNT and NEG-OPEN support.",
            discussion: """
                For each relay: connect time, the NIP-11 document (supported NIPs, limits), REQ-to-EOSE latency \
                (median and p90), read throughput for one bounded query, whether it sends an AUTH challenge and \
                answers COUNT and NEG-OPEN, and with a key the publish round trip of an ephemeral event (kind \
                20001, which relays do not store). A relay that cannot be reached gets a one-line verdict. \
                Exits 2 (a relay failed) if any relay was unreachable.
                """
        )

        @Argument(help: "Relay URLs (ws:// or wss://).") var urls: [String]
        @Option(help: "REQ-to-EOSE rounds per relay.") var rounds = 5
        @Option(help: "Seconds to wait for a connection or an answer.") var timeout = 10
        @OptionGroup var key: KeyOptions
        @OptionGroup var log: LogOptions
        @Flag(help: "Print the results as JSON.") var json = false

        func validate() throws {
            for url in urls where RelayURL(url) == nil { throw ValidationError("\(url): not a ws:// or wss:// URL") }
            guard (1...100).contains(rounds) else { throw ValidationError("--rounds: between 1 and 100") }
            guard (1...120).contains(timeout) else { throw ValidationError("--timeout: between 1 and 120 seconds") }
        }

        func run() async throws {
            var diagnostics = RelayDiagnostics(key: try key.load(), logger: log.makeLogger(defaultLevel: .error))
            diagnostics.rounds = rounds
            diagnostics.timeout = Duration.seconds(timeout)
            var results: [RelayDiagnosis] = []
            // validate() refused every text that is not a relay URL.
            for url in urls.compactMap({ RelayURL($0) }) {
                let d = await diagnostics.diagnose(url)
                if !json { print(d.text) }
                results.append(d)
            }
            if json { printJSON(results) }
            if results.contains(where: { !$0.reachable }) { throw ExitCode(ExitStatus.relayFailed) }
        }
    }
}
