import Foundation
import LedgerPostgres
import NostrCore

extension ConfigReader {
    /// `ledger`: the SQLite file's path (the default), a `postgres://USER@HOST:PORT/DATABASE` URL,
    /// or an object `{"url", "password_file", "tls_ca_file"}` for PostgreSQL. A password is never
    /// taken from sync.json: one in the URL is refused.
    func readLedger() throws(ConfigError) -> (sqlite: URL, postgres: PostgresLedgerSettings?) {
        let fallback = path("data/ledger.sqlite")
        guard let value = root["ledger"], value != .null else { return (fallback, nil) }
        if case let .string(text) = value {
            guard PostgresLedgerSettings.isPostgresURL(text) else { return (path(text), nil) }
            do {
                return (fallback, try PostgresLedgerSettings.parse(url: text))
            } catch {
                throw ConfigError(key: "ledger", reason: error.reason)
            }
        }
        guard case let .object(fields) = value else {
            throw ConfigError(key: "ledger", reason: "must be the SQLite file's path, a postgres:// URL, or an object with url, password_file, tls_ca_file")
        }
        for (k, _) in fields where !["url", "password_file", "tls_ca_file"].contains(k) {
            throw ConfigError(key: "ledger.\(k)", reason: "unknown key (expected url, password_file, tls_ca_file)")
        }
        guard let url = try string(value["url"], key: "ledger.url") else {
            throw ConfigError(key: "ledger.url", reason: "required: postgres://USER@HOST:PORT/DATABASE")
        }
        guard PostgresLedgerSettings.isPostgresURL(url) else {
            throw ConfigError(key: "ledger.url", reason: "must be a postgres:// URL (a SQLite ledger is given as a path: \"ledger\": \"data/ledger.sqlite\")")
        }
        var settings: PostgresLedgerSettings
        do {
            settings = try PostgresLedgerSettings.parse(url: url)
        } catch {
            throw ConfigError(key: "ledger.url", reason: error.reason)
        }
        settings.passwordFile = try string(value["password_file"], key: "ledger.password_file").map(path)
        settings.tlsCAFile = try string(value["tls_ca_file"], key: "ledger.tls_ca_file").map(path)
        if let ca = settings.tlsCAFile, !FileManager.default.isReadableFile(atPath: ca.path) {
            throw ConfigError(key: "ledger.tls_ca_file", reason: "cannot read \(ca.path)")
        }
        return (fallback, settings)
    }
}

extension SyncConfiguration {
    /// `--ledger`: a SQLite path or a postgres:// URL (password file and CA stay as configured).
    public mutating func overrideLedger(_ text: String) throws(ConfigError) {
        guard PostgresLedgerSettings.isPostgresURL(text) else {
            ledgerPath = URL(fileURLWithPath: text).standardizedFileURL
            postgresLedger = nil
            return
        }
        do {
            var settings = try PostgresLedgerSettings.parse(url: text)
            settings.passwordFile = postgresLedger?.passwordFile
            settings.tlsCAFile = postgresLedger?.tlsCAFile
            postgresLedger = settings
        } catch {
            throw ConfigError(key: "--ledger", reason: error.reason)
        }
    }
}
