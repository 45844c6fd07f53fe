import ArgumentParser
import Foundation
import Logging
import NostrCore
import SyncAgent

/// Options shared by every command that reads `sync.json`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to the configuration file.")
    var config: String = "sync.json"

    @Option(help: "Ledger path, overriding the config file's \"ledger\".")
    var ledger: String?

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical), overriding \"log_level\".")
    var logLevel: String?

    func load() throws -> SyncConfiguration {
        var configuration: SyncConfiguration
        do { configuration = try SyncConfiguration.load(path: config) } catch {
            throw ValidationError("\(config): \(error)")
        }
        if let ledger { configuration.ledgerPath = URL(fileURLWithPath: ledger).standardizedFileURL }
        if let logLevel {
            guard SyncConfiguration.logLevels.contains(logLevel) else {
                throw ValidationError("--log-level must be one of \(SyncConfiguration.logLevels.joined(separator: ", "))")
            }
            configuration.logLevel = logLevel
        }
        return configuration
    }
}

import Foundation

/// The key from `--key-file` or `RELAYSYNC_SECRET_KEY`, for commands that take no config file.
func loadSecretKey(keyFile: String?) throws -> SecretKey? {
    var file = SyncConfiguration.parseForKeyOnly()
    file.secretKeyFile = keyFile.map { URL(fileURLWithPath: $0) }
    do { return try file.loadSecretKey() } catch { throw ValidationError("\(error)") }
}
