import ArgumentParser
import Foundation

@main
struct RelaySyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaysync",
        abstract: "Back up and synchronise Nostr events between relays.",
        discussion: "Exit codes: 0 ok, 1 failure, 2 a relay failed, 64 usage, 78 configuration (docs/cli.md).",
        version: BuildInfo.versionLine,
        subcommands: [Run.self, Status.self, Audit.self, Relays.self, ArchiveCommand.self, Restore.self, Diagnose.self, Key.self, LedgerCommand.self]
    )

    /// argument-parser's main, with the exit codes of `ExitStatus`: configuration and key-file
    /// mistakes exit 78 and file errors are one line naming the path, never Foundation's text.
    static func main() async {
        MallocArenas.limitToCores()
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            StderrWriter.shared.setStatus(nil)
            if let mistake = CLIError.classify(error) {
                StderrWriter.shared.write("Error: \(mistake.description)\n")
                Foundation.exit(mistake.exitCode)
            }
            exit(withError: error)
        }
    }
}
