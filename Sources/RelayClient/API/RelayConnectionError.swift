import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import NostrCore

/// Why a relay's WebSocket could not be opened, read from the error's type and values (never
/// from its message). `summary` is the one line every report shows (`run --once`, `status`,
/// `diagnose`, the `relay.disconnected` log line); `underlying` is what swift-nio threw.
public struct RelayConnectionError: Error, CustomStringConvertible {
    private enum Reason: Equatable {
        case refused
        case dnsFailed(host: String)
        case noRoute(host: String)
        case timedOut(Duration)
        case untrustedCertificate
        case expiredCertificate(notValidAfter: Int64)
        case wrongHost
        case tlsFailed
        case upgradeRefused(status: Int?)
        case badUpgrade
        case closedEarly
        case other
    }

    /// The relay's address as configured.
    public let url: RelayURL
    /// What was thrown while connecting (swift-nio's, NIOSSL's or this module's error).
    public let underlying: any Error
    private let reason: Reason

    private init(url: RelayURL, reason: Reason, underlying: any Error) {
        self.url = url
        self.reason = reason
        self.underlying = underlying
    }

    /// One line that says what went wrong and what to do about it.
    public var summary: String {
        switch reason {
        case .refused: "connection refused: is the relay running on that port?"
        case let .dnsFailed(host): "DNS lookup failed for \(host)"
        case let .noRoute(host): "no route to \(host): is the network up?"
        case let .timedOut(timeout): "no answer within \(Self.seconds(timeout))"
        case .untrustedCertificate: "certificate not trusted (unknown CA): set tls_ca_file for this relay if it uses a private CA"
        case let .expiredCertificate(notValidAfter): "certificate expired on \(Self.date(notValidAfter))"
        case .wrongHost: "certificate is for another host"
        case .tlsFailed: "TLS handshake failed"
        case let .upgradeRefused(status?): "HTTP \(status) instead of a WebSocket upgrade: is this a relay URL?"
        case .upgradeRefused(nil): "no HTTP answer to the WebSocket upgrade: is this a relay URL?"
        case .badUpgrade: "invalid WebSocket upgrade answer: is this a relay URL?"
        case .closedEarly: "the relay closed the connection before the WebSocket upgrade"
        case .other: "could not connect: \(String(describing: underlying).split(separator: "\n").first ?? "")"
        }
    }

    /// The summary, then what swift-nio reported.
    public var description: String {
        reason == .other ? summary : "\(summary) (\(underlying))"
    }

    // MARK: Kinds, for callers that act on them

    /// Nothing listens on the relay's port.
    public var isRefused: Bool { reason == .refused }
    /// The relay's name did not resolve.
    public var isDNSFailure: Bool { if case .dnsFailed = reason { true } else { false } }
    /// TCP, TLS and the upgrade did not finish within the connect timeout.
    public var isTimeout: Bool { if case .timedOut = reason { true } else { false } }
    /// Waiting will not change it: the URL, a name that does not resolve, the certificate, or an
    /// HTTP server that answers instead of a relay. A refusal, a timeout or a dropped connection
    /// may pass (a relay restarting), so those are not.
    public var isPermanent: Bool {
        switch reason {
        case .dnsFailed, .untrustedCertificate, .expiredCertificate, .wrongHost, .upgradeRefused, .badUpgrade: true
        default: false
        }
    }
    /// Certificate problems: unknown CA, expired, or issued for another host.
    public var isCertificateProblem: Bool {
        switch reason {
        case .untrustedCertificate, .expiredCertificate, .wrongHost: true
        default: false
        }
    }
    /// The server answered the upgrade request with plain HTTP.
    public var isUpgradeRefused: Bool { if case .upgradeRefused = reason { true } else { false } }

    var isUntrustedCertificate: Bool { reason == .untrustedCertificate }
    var isExpiredCertificate: Bool { if case .expiredCertificate = reason { true } else { false } }
    var isWrongHost: Bool { reason == .wrongHost }
    /// The HTTP status of a refused upgrade.
    var upgradeStatus: Int? { if case let .upgradeRefused(status) = reason { status } else { nil } }

    // MARK: Classification

    /// What the TLS verification callback saw during one handshake.
    struct CertificateObservation: Sendable {
        /// BoringSSL failed to verify some certificate of the chain.
        var verificationFailed = false
        /// The certificate that failed is past its `notValidAfter` (Unix seconds).
        var expiredNotValidAfter: Int64?
    }

    /// Reads `error`, thrown while opening a connection to `url`, by its type and values.
    /// `timedOut` says the dialer's deadline closed the channel; `certificates` is what the
    /// verification callback saw.
    static func classify(
        _ error: any Error, url: RelayURL, timeout: Duration,
        timedOut: Bool = false, certificates: CertificateObservation = .init()
    ) -> RelayConnectionError {
        func make(_ reason: Reason) -> RelayConnectionError { RelayConnectionError(url: url, reason: reason, underlying: error) }
        let host = url.host
        switch error {
        case let error as RelayConnectionError:
            return error
        case let refused as WebSocketUpgradeRefused:
            return make(.upgradeRefused(status: refused.status))
        case is RelayConnectTimeout:
            return make(.timedOut(timeout))
        case let error as ChannelError:
            if case .connectTimeout = error { return make(.timedOut(timeout)) }
            if timedOut { return make(.timedOut(timeout)) }
            switch error {
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return make(.closedEarly)
            default: return make(.other)
            }
        case let error as NIOConnectionError:
            return make(reading(error, host: host, timeout: timeout))
        case let error as IOError:
            return make(reading(errno: error.errnoCode, host: host, timeout: timeout) ?? .other)
        case let error as NIOSSLExtraError:
            if error == .failedToValidateHostname || error == .serverHostnameImpossibleToMatch { return make(.wrongHost) }
            return make(.tlsFailed)
        case let error as NIOSSLError:
            switch error {
            case .handshakeFailed, .unableToValidateCertificate, .noCertificateToValidate:
                if certificates.verificationFailed || error == .unableToValidateCertificate {
                    if let notValidAfter = certificates.expiredNotValidAfter { return make(.expiredCertificate(notValidAfter: notValidAfter)) }
                    return make(.untrustedCertificate)
                }
                return make(timedOut ? .timedOut(timeout) : .tlsFailed)
            case .uncleanShutdown:
                return make(timedOut ? .timedOut(timeout) : .closedEarly)
            default:
                return make(timedOut ? .timedOut(timeout) : .tlsFailed)
            }
        case is NIOSSLCloseTimedOutError:
            return make(timedOut ? .timedOut(timeout) : .closedEarly)
        case is NIOHTTPClientUpgradeError, is NIOWebSocketUpgradeError, is PerMessageDeflate.Refusal:
            return make(.badUpgrade)
        default:
            return make(timedOut ? .timedOut(timeout) : .other)
        }
    }

    /// Happy eyeballs' summary: no address at all is a DNS failure; otherwise the errno of the
    /// attempts (refused wins: on loopback the other family often has nothing listening either).
    private static func reading(_ error: NIOConnectionError, host: String, timeout: Duration) -> Reason {
        if error.connectionErrors.isEmpty { return .dnsFailed(host: host) }
        let reasons = error.connectionErrors.map { failure -> Reason in
            if let io = failure.error as? IOError { return reading(errno: io.errnoCode, host: host, timeout: timeout) ?? .other }
            if case ChannelError.connectTimeout? = failure.error as? ChannelError { return .timedOut(timeout) }
            return .other
        }
        for preferred in [Reason.refused, .timedOut(timeout), .noRoute(host: host)] where reasons.contains(preferred) {
            return preferred
        }
        return .other
    }

    private static func reading(errno code: CInt, host: String, timeout: Duration) -> Reason? {
        switch code {
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timedOut(timeout)
        case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL: .noRoute(host: host)
        case ECONNRESET, EPIPE: .closedEarly
        default: nil
        }
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return s == s.rounded() ? "\(Int(s))s" : String(format: "%.1fs", s)
    }

    private static func date(_ unix: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }
}
