import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL ledger is and how to reach it: `postgres://USER@HOST[:PORT]/DATABASE`, the
/// password read from a file (never from sync.json or the URL), and the CA that signs the server's
/// certificate when TLS is wanted. Without `tlsCAFile` the connection is plain (loopback, a private
/// network); with it, TLS is required and the certificate must chain to that CA and name the host.
public struct PostgresLedgerSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var passwordFile: URL?
    public var tlsCAFile: URL?
    /// How long the server lets a session sit inside a transaction waiting for its next
    /// statement before ending it: an agent paused (SIGSTOP, a stall) inside a transaction would
    /// otherwise hold its row and advisory locks, so the others could neither take its leases
    /// nor record. Set by the daemon from its lease period; nil leaves the server's setting.
    public var idleInTransactionTimeout: Duration?

    public init(host: String, port: Int = 5432, user: String, database: String, passwordFile: URL? = nil, tlsCAFile: URL? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.passwordFile = passwordFile
        self.tlsCAFile = tlsCAFile
    }

    /// Whether `text` names a PostgreSQL ledger rather than a SQLite file.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses `postgres://USER@HOST[:PORT]/DATABASE`; the reason is one line, for the config key.
    public static func parse(url text: String) throws(PostgresURLError) -> PostgresLedgerSettings {
        guard isPostgresURL(text), let components = URLComponents(string: text) else {
            throw PostgresURLError("not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        if components.password != nil {
            throw PostgresURLError("a password in the URL is refused: put it in a file named by \"password_file\" (ledger as an object)")
        }
        guard let user = components.user, !user.isEmpty else { throw PostgresURLError("the URL names no user (postgres://USER@HOST:PORT/DATABASE)") }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("the URL names no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw PostgresURLError("the URL names no database (postgres://USER@HOST:PORT/DATABASE)") }
        if components.query != nil || components.fragment != nil {
            throw PostgresURLError("the URL takes no parameters: TLS is set with \"tls_ca_file\" (ledger as an object)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("port must be in 1...65535") }
        return PostgresLedgerSettings(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port,
            user: user.removingPercentEncoding ?? user, database: database.removingPercentEncoding ?? database)
    }

    /// The URL as written, without a password (there is never one): for messages and `status`.
    public var displayURL: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(h):\(port)/\(database)"
    }

    /// The password file's content, trailing newline dropped (nil without a file).
    public func password() throws(PostgresURLError) -> String? {
        guard let passwordFile else { return nil }
        guard let data = FileManager.default.contents(atPath: passwordFile.path) else {
            throw PostgresURLError("cannot read password_file \(passwordFile.path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw PostgresURLError("password_file \(passwordFile.path) is empty") }
        return text
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard let tlsCAFile else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tlsCAFile.path))
        return tls
    }

    /// The pool's configuration (connect timeout bounded, TLS as configured).
    public func clientConfiguration(connectTimeout: Duration = .seconds(10)) throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: try password(), database: database,
            tls: try tlsConfiguration().map { .require($0) } ?? .disable)
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = 8
        if let idle = idleInTransactionTimeout {
            let milliseconds = idle.components.seconds * 1000 + idle.components.attoseconds / 1_000_000_000_000_000
            configuration.options.additionalStartupParameters.append(("idle_in_transaction_session_timeout", "\(max(1, milliseconds))"))
        }
        return configuration
    }

    /// One connection's configuration, for `--check`.
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            try tlsConfiguration().map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: try password(), database: database, tls: tls)
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        return configuration
    }
}

/// A PostgreSQL ledger URL or its files that cannot be used; the reason is one line.
public struct PostgresURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
