import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A PostgreSQL ledger that cannot be used, as one line naming the ledger and what to do. Classified
/// from postgres-nio's error codes, the server's SQLSTATE and NIO's error types, never from text.
public struct PostgresLedgerError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case refused
        case timedOut
        case authentication
        case passwordRequired
        case missingDatabase
        case tlsUnsupported
        case tls(String)
        case settings(String)
        /// A lease-protected write whose generation is no longer the lease's (fencing).
        case fenced(String)
        case other(String)
    }

    public let ledger: String
    let settings: PostgresLedgerSettings?
    let kind: Kind

    init(_ settings: PostgresLedgerSettings, _ kind: Kind) {
        ledger = settings.displayURL
        self.settings = settings
        self.kind = kind
    }

    public var description: String {
        let user = settings?.user ?? "?"
        let database = settings?.database ?? "?"
        let reason: String
        switch kind {
        case .refused: reason = "connection refused: is PostgreSQL running and listening on \(settings.map { "\($0.host):\($0.port)" } ?? "?")?"
        case .timedOut: reason = "no answer within the connect timeout (a firewall, or the wrong host)"
        case .authentication: reason = "authentication failed for role \"\(user)\" (check ledger.password_file and the server's pg_hba.conf)"
        case .passwordRequired: reason = "the server asks a password for role \"\(user)\": name a file holding it in ledger.password_file"
        case .missingDatabase: reason = "database \"\(database)\" does not exist (create it: createdb -O \(user) \(database))"
        case .tlsUnsupported: reason = "TLS: the server does not offer TLS, and ledger.tls_ca_file asks for it"
        case let .tls(what): reason = "TLS: \(what)"
        case let .settings(what): reason = what
        case let .fenced(what): reason = "lease lost: \(what)"
        case let .other(what): reason = what
        }
        return "ledger \(ledger): \(reason)"
    }

    /// Names the failure of connecting or querying.
    static func classify(_ error: any Error, settings: PostgresLedgerSettings) -> PostgresLedgerError {
        if let e = error as? PostgresLedgerError { return e }
        if let e = error as? PostgresURLError { return PostgresLedgerError(settings, .settings(e.reason)) }
        if let e = error as? PSQLError {
            switch e.code {
            case .sslUnsupported: return PostgresLedgerError(settings, .tlsUnsupported)
            case .authMechanismRequiresPassword: return PostgresLedgerError(settings, .passwordRequired)
            case .server:
                switch e.serverInfo?[.sqlState] {
                case "28P01", "28000": return PostgresLedgerError(settings, .authentication)
                case "3D000": return PostgresLedgerError(settings, .missingDatabase)
                default:
                    return PostgresLedgerError(
                        settings, .other("the server said: \(e.serverInfo?[.message] ?? "an error") (SQLSTATE \(e.serverInfo?[.sqlState] ?? "?"))"))
                }
            case .connectionError, .failedToAddSSLHandler:
                if let underlying = e.underlying { return classifyTransport(underlying, settings: settings) }
                return PostgresLedgerError(settings, .other("connection failed"))
            default:
                if let underlying = e.underlying { return classifyTransport(underlying, settings: settings) }
                return PostgresLedgerError(settings, .other("\(e.code)"))
            }
        }
        return classifyTransport(error, settings: settings)
    }

    private static func classifyTransport(_ error: any Error, settings: PostgresLedgerSettings) -> PostgresLedgerError {
        if let e = error as? NIOConnectionError {
            let errors = e.connectionErrors.map(\.error)
            if errors.contains(where: { ($0 as? IOError)?.errnoCode == ECONNREFUSED }) { return PostgresLedgerError(settings, .refused) }
            if let first = errors.first { return classifyTransport(first, settings: settings) }
            if e.dnsAAAAError != nil || e.dnsAError != nil { return PostgresLedgerError(settings, .other("cannot resolve \(settings.host)")) }
            return PostgresLedgerError(settings, .other("cannot connect"))
        }
        if let e = error as? IOError, e.errnoCode == ECONNREFUSED { return PostgresLedgerError(settings, .refused) }
        if let e = error as? ChannelError, case .connectTimeout = e { return PostgresLedgerError(settings, .timedOut) }
        if let e = error as? NIOSSLError {
            switch e {
            case .handshakeFailed:
                return PostgresLedgerError(
                    settings, .tls("the handshake failed: the server's certificate is not signed by ledger.tls_ca_file, or not for \(settings.host)"))
            default: return PostgresLedgerError(settings, .tls("\(e)"))
            }
        }
        if error is BoringSSLError {
            return PostgresLedgerError(
                settings, .tls("the handshake failed: the server's certificate is not signed by ledger.tls_ca_file, or not for \(settings.host)"))
        }
        if let e = error as? NIOSSLExtraError { return PostgresLedgerError(settings, .tls("\(e)")) }
        return PostgresLedgerError(settings, .other("\(error)"))
    }
}

/// `run --check` for a PostgreSQL ledger: one connection, one query, closed.
public enum PostgresLedgerCheck {
    public static func connect(_ settings: PostgresLedgerSettings, timeout: Duration = .seconds(10)) async throws(PostgresLedgerError) {
        do {
            let configuration = try settings.connectionConfiguration(connectTimeout: timeout)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "relaysync.ledger.check"))
            do {
                _ = try await connection.query("SELECT 1", logger: Logger(label: "relaysync.ledger.check")).all()
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            throw PostgresLedgerError.classify(error, settings: settings)
        }
    }
}
