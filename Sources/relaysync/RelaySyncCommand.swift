import ArgumentParser

@main
struct RelaySyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaysync",
        abstract: "Back up and synchronise Nostr events between relays.",
        version: BuildInfo.versionLine,
        subcommands: [Run.self, Status.self, Audit.self, Relays.self, ArchiveCommand.self, Restore.self, Diagnose.self, Key.self]
    )
}
