import ArgumentParser
import Foundation
import Logging
import NostrCore
import SyncAgent

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

/// `--log-level` and `--log-format`, validated by argument-parser the same way for every command.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Log level, overriding \"log_level\" where a config file is read.", valueName: "level"))
    var logLevel: Logger.Level?

    @Option(
        help: ArgumentHelp(
            "Log format: text, or json (one object a line, for journald and log shippers), overriding \"log_format\".",
            valueName: "format"))
    var logFormat: LogFormat?

    /// For commands without a config file: the option, or this command's default level.
    func makeLogger(defaultLevel: Logger.Level) -> Logger {
        LogSetup.makeLogger(level: logLevel ?? defaultLevel, format: logFormat ?? .text)
    }
}

/// `--key-file`: the NIP-42 AUTH key, overriding `secret_key_file`. A bad file is reported as
/// `--key-file: …`, exit 78, like a bad `secret_key_file`.
struct KeyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "File with the nsec/hex key for NIP-42 AUTH, overriding \"secret_key_file\" (or set RELAYSYNC_SECRET_KEY).",
            valueName: "file"))
    var keyFile: String?

    func apply(to configuration: inout SyncConfiguration) {
        guard let keyFile else { return }
        configuration.secretKeyFile = URL(fileURLWithPath: keyFile).standardizedFileURL
        configuration.secretKeyFileSource = "--key-file"
    }

    /// The key from `--key-file` or `RELAYSYNC_SECRET_KEY`, for commands that take no config file.
    func load() throws(ConfigError) -> SecretKey? {
        var configuration = SyncConfiguration.parseForKeyOnly()
        apply(to: &configuration)
        return try configuration.loadSecretKey()
    }
}

/// Options shared by every command that reads `sync.json`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Path to the configuration file.", valueName: "file"))
    var config: String = "sync.json"

    @Option(help: ArgumentHelp("Ledger path, overriding the config file's \"ledger\".", valueName: "path"))
    var ledger: String?

    @OptionGroup var log: LogOptions

    /// The config file with the command line's overrides. Any mistake is a `ConfigError` naming the
    /// file (exit 78, one line).
    /// Only `run` and `status` work on a PostgreSQL ledger yet (`allowPostgres`); the other commands say so.
    func load(key: KeyOptions? = nil, allowPostgres: Bool = false) throws(ConfigError) -> SyncConfiguration {
        var configuration = try SyncConfiguration.load(path: config)
        if let ledger { try configuration.overrideLedger(ledger) }
        if !allowPostgres, configuration.postgresLedger != nil {
            throw ConfigError(
                key: ledger == nil ? "ledger" : "--ledger",
                reason:
                    "this command reads a SQLite ledger only in this version (run and status work on PostgreSQL): give the SQLite ledger's path with --ledger"
            ).inFile(config)
        }
        if let level = log.logLevel { configuration.logLevel = level.rawValue }
        if let format = log.logFormat { configuration.logFormat = format }
        key?.apply(to: &configuration)
        return configuration
    }
}

extension SyncConfiguration {
    var logger: Logger { LogSetup.makeLogger(level: logLevel, format: logFormat) }
}
