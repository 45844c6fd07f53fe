import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NostrCore
import PeerHarness
import Testing

@testable import RelayClient
@testable import RelayClientTests

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the handshake, then
/// nothing ever answers.
final class SilentListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw SilentListenerError() }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }

    struct SilentListenerError: Error {}
}

/// Every way of failing to open the WebSocket is read from the error's type and values and comes
/// out as one line saying what to do; nothing is decided from an error's message text.
@Suite("Connection failures: typed, one line each")
struct RelayConnectionErrorTests {
    /// Dials once; the error, or nil when the WebSocket opened (then closes it).
    static func dial(_ configuration: RelayConfiguration) async -> RelayConnectionError? {
        do {
            let socket = try await WebSocketDialer(configuration: configuration, logger: TestSupport.logger).connect()
            try? await socket.channel.channel.close()
            return nil
        } catch {
            return error
        }
    }

    static func configuration(_ url: RelayURL, trusting roots: [NIOSSLCertificate] = [], timeout: Duration = .seconds(5)) -> RelayConfiguration {
        var c = TestSupport.configuration(url)
        c.connectTimeout = timeout
        c.additionalTrustRoots = roots
        return c
    }

    @Test(.timeLimit(.minutes(1)))
    func aClosedPortIsRefused() async throws {
        let port = try FreePort.pick()
        let error = try #require(await Self.dial(Self.configuration(.built("ws://127.0.0.1:\(port)"))))
        #expect(error.isRefused, "\(error)")
        #expect(error.summary == "connection refused: is the relay running on that port?")
        #expect(error.url.normalized == "ws://127.0.0.1:\(port)")
        #expect(error.underlying is NIOConnectionError, "the underlying error is kept: \(type(of: error.underlying))")
    }

    /// `localhost` resolves to ::1 and 127.0.0.1; neither listens, so both attempts are refused.
    @Test(.timeLimit(.minutes(1)))
    func aClosedPortByNameIsRefused() async throws {
        let port = try FreePort.pick()
        let error = try #require(await Self.dial(Self.configuration(.built("ws://localhost:\(port)"))))
        #expect(error.summary == "connection refused: is the relay running on that port?", "\(error)")
    }

    @Test(.timeLimit(.minutes(1)), arguments: ["ws", "wss"])
    func aListenerThatNeverAnswersTimesOut(scheme: String) async throws {
        let listener = try SilentListener()
        let error = try #require(await Self.dial(Self.configuration(.built("\(scheme)://127.0.0.1:\(listener.port)"), timeout: .seconds(1))))
        #expect(error.isTimeout, "\(error)")
        #expect(error.summary == "no answer within 1s")
        withExtendedLifetime(listener) {}
    }

    @Test(.timeLimit(.minutes(1)))
    func aFractionalTimeoutIsWrittenWithOneDecimal() async throws {
        let listener = try SilentListener()
        let error = try #require(await Self.dial(Self.configuration(.built("ws://127.0.0.1:\(listener.port)"), timeout: .milliseconds(500))))
        #expect(error.summary == "no answer within 0.5s", "\(error)")
        withExtendedLifetime(listener) {}
    }

    /// A certificate signed by a CA no one trusts, and a self-signed one: unknown CA.
    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func anUnknownCAIsNotTrusted(selfSigned: Bool) async throws {
        let tls = selfSigned ? try TLSFixture.serverContext() : try PrivateCAFixture.serverContext(PrivateCAFixture.validPEM, key: PrivateCAFixture.validKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            let error = try #require(await Self.dial(Self.configuration(server.url)))
            #expect(error.isUntrustedCertificate && error.isCertificateProblem, "\(error)")
            #expect(error.summary == "certificate not trusted (unknown CA): set tls_ca_file for this relay if it uses a private CA")
            #expect(server.connectionCount == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theCAMakesTheSameRelayReachable() async throws {
        let tls = try PrivateCAFixture.serverContext(PrivateCAFixture.validPEM, key: PrivateCAFixture.validKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            var configuration = TestSupport.configuration(server.url)
            configuration.trust(try RelayTrustRoots(pem: Array(PrivateCAFixture.caPEM.utf8)))
            #expect(await Self.dial(configuration) == nil)
            // By name as well: SNI and the hostname check see `localhost`.
            var byName = TestSupport.configuration(.built("wss://localhost:\(server.port)"))
            byName.trust(try RelayTrustRoots(pem: Array(PrivateCAFixture.caPEM.utf8)))
            #expect(await Self.dial(byName) == nil)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anExpiredCertificateSaysWhen() async throws {
        let tls = try PrivateCAFixture.serverContext(PrivateCAFixture.expiredPEM, key: PrivateCAFixture.expiredKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            let error = try #require(await Self.dial(Self.configuration(server.url, trusting: [try PrivateCAFixture.ca()])))
            #expect(error.isExpiredCertificate, "\(error)")
            #expect(error.summary == "certificate expired on 2025-01-02")
        }
    }

    @Test(.timeLimit(.minutes(1)), arguments: ["localhost", "127.0.0.1"])
    func aCertificateForAnotherHostIsRefused(host: String) async throws {
        let tls = try PrivateCAFixture.serverContext(PrivateCAFixture.otherHostPEM, key: PrivateCAFixture.otherHostKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            let error = try #require(await Self.dial(Self.configuration(.built("wss://\(host):\(server.port)"), trusting: [try PrivateCAFixture.ca()])))
            #expect(error.isWrongHost, "\(error)")
            #expect(error.summary == "certificate is for another host")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aPlainHTTPAnswerIsNoUpgrade() async throws {
        let behaviour = ScriptedRelay.Behaviour(information: #"{"name":"not a relay"}"#, refusesUpgrade: true, onText: { _, _ in })
        try await ScriptedRelay.with(behaviour) { server in
            let error = try #require(await Self.dial(Self.configuration(server.url)))
            #expect(error.isUpgradeRefused, "\(error)")
            #expect(error.upgradeStatus == 200)
            #expect(error.summary == "HTTP 200 instead of a WebSocket upgrade: is this a relay URL?")
            #expect(error.underlying is WebSocketUpgradeRefused)
        }
    }

    /// The same over TLS, with the certificate trusted.
    @Test(.timeLimit(.minutes(1)))
    func aPlainHTTPSAnswerIsNoUpgrade() async throws {
        let behaviour = ScriptedRelay.Behaviour(information: "{}", refusesUpgrade: true, onText: { _, _ in })
        try await ScriptedRelay.with(behaviour, tls: try TLSFixture.serverContext()) { server in
            let error = try #require(await Self.dial(Self.configuration(server.url, trusting: [try TLSFixture.certificate()])))
            #expect(error.summary == "HTTP 200 instead of a WebSocket upgrade: is this a relay URL?", "\(error)")
        }
    }

    /// Classification reads types and values: the same message text in another error type
    /// decides nothing.
    @Test func messageTextDecidesNothing() {
        struct Lookalike: Error, CustomStringConvertible {
            var description: String { "connection refused: CERTIFICATE_VERIFY_FAILED timed out, DNS getaddrinfo" }
        }
        let error = RelayConnectionError.classify(Lookalike(), url: "ws://a", timeout: .seconds(3))
        #expect(!error.isRefused && !error.isTimeout && !error.isCertificateProblem && !error.isDNSFailure)
        #expect(error.summary.hasPrefix("could not connect: "))
        let timeout = RelayConnectionError.classify(ChannelError.connectTimeout(.seconds(3)), url: "ws://a", timeout: .seconds(3))
        #expect(timeout.summary == "no answer within 3s")
        let refused = RelayConnectionError.classify(IOError(errnoCode: ECONNREFUSED, reason: "connect"), url: "ws://a", timeout: .seconds(3))
        #expect(refused.isRefused)
        let host = RelayConnectionError.classify(NIOSSLExtraError.failedToValidateHostname, url: "wss://a", timeout: .seconds(3))
        #expect(host.isWrongHost)
        let observed = RelayConnectionError.CertificateObservation(verificationFailed: true, expiredNotValidAfter: 1_735_776_000)
        let expired = RelayConnectionError.classify(
            NIOSSLError.handshakeFailed(.sslError([])), url: "wss://a", timeout: .seconds(3), certificates: observed)
        #expect(expired.summary == "certificate expired on 2025-01-02")
        let handshake = RelayConnectionError.classify(NIOSSLError.handshakeFailed(.sslError([])), url: "wss://a", timeout: .seconds(3))
        #expect(handshake.summary == "TLS handshake failed")
    }

    /// What waiting can fix (a refusal, a timeout, a failed handshake) is not permanent; a
    /// certificate or a name that does not resolve is.
    @Test func permanentFailuresAreTheOnesWaitingCannotChange() {
        func classify(_ error: any Error, _ url: RelayURL = "wss://a") -> RelayConnectionError {
            RelayConnectionError.classify(error, url: url, timeout: .seconds(3))
        }
        #expect(!classify(IOError(errnoCode: ECONNREFUSED, reason: "connect")).isPermanent)
        #expect(!classify(ChannelError.connectTimeout(.seconds(3))).isPermanent)
        #expect(!classify(NIOSSLError.handshakeFailed(.sslError([]))).isPermanent)
        #expect(classify(NIOSSLExtraError.failedToValidateHostname).isPermanent)
        let observed = RelayConnectionError.CertificateObservation(verificationFailed: true, expiredNotValidAfter: 1_735_776_000)
        let expired = RelayConnectionError.classify(
            NIOSSLError.handshakeFailed(.sslError([])), url: "wss://a", timeout: .seconds(3), certificates: observed)
        #expect(expired.isPermanent)
    }

    /// Through `Relay`: waiting ends on an untrusted certificate, not at its timeout (an hour,
    /// past this test's time limit), while a closed port is waited for, as a relay restarting
    /// would be.
    @Test(.timeLimit(.minutes(1)))
    func waitingEndsOnAnUntrustedCertificateButNotOnARefusal() async throws {
        let tls = try PrivateCAFixture.serverContext(PrivateCAFixture.validPEM, key: PrivateCAFixture.validKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            let relay = Relay(configuration: TestSupport.configuration(server.url), logger: TestSupport.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                #expect(await !relay.waitUntilConnected(timeout: .seconds(3_600), orPermanentFailure: true))
                #expect(await relay.lastConnectionError()?.isUntrustedCertificate == true)
                relay.stop()
                try await group.waitForAll()
            }
        }
        let closed = Relay(configuration: TestSupport.configuration(.built("ws://127.0.0.1:\(try FreePort.pick())")), logger: TestSupport.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await closed.run() }
            #expect(await !closed.waitUntilConnected(timeout: .seconds(2), orPermanentFailure: true))
            #expect(await closed.lastConnectionError()?.isRefused == true)
            closed.stop()
            try await group.waitForAll()
        }
    }

    /// Below debug logging, `relay disconnected` says the one line without swift-nio's text
    /// (`Connection errors: SingleConnectionFailure(…)`), which told an operator nothing more.
    @Test(.timeLimit(.minutes(1)))
    func theWarningSaysTheLineWithoutSwiftNIOsText() async throws {
        let recorder = LogRecorder()
        var logger = recorder.logger
        logger.logLevel = .info
        let relay = Relay(configuration: TestSupport.configuration(.built("ws://127.0.0.1:\(try FreePort.pick())")), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            try await TestSupport.waitFor(seconds: 10) { recorder.all.contains { $0.message == "relay disconnected" } }
            relay.stop()
            try await group.waitForAll()
        }
        let logged = recorder.all.filter { $0.message == "relay disconnected" }
        #expect(!logged.isEmpty)
        #expect(logged.allSatisfy { $0.metadata["relay.error"] == "connection refused: is the relay running on that port?" }, "\(logged.map(\.metadata))")
        #expect(logged.allSatisfy { $0.metadata["relay.error.detail"] == nil }, "\(logged.map(\.metadata))")
    }

    /// Through `Relay`: the typed error is kept, the health's text still carries NIOSSL's
    /// detail, and `relay disconnected` logs the one line with the detail beside it (at debug).
    @Test(.timeLimit(.minutes(1)))
    func theRelayKeepsTheTypedErrorAndLogsTheLine() async throws {
        let recorder = LogRecorder()
        let tls = try PrivateCAFixture.serverContext(PrivateCAFixture.validPEM, key: PrivateCAFixture.validKeyPEM)
        try await ScriptedRelay.with(ScriptedRelayStore().behaviour, tls: tls) { server in
            let relay = Relay(configuration: TestSupport.configuration(server.url), logger: recorder.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                #expect(await !relay.waitUntilConnected(timeout: .seconds(2)))
                try await TestSupport.waitFor(seconds: 10) { await relay.lastConnectionError() != nil }
                relay.stop()
                try await group.waitForAll()
            }
            let line = "certificate not trusted (unknown CA): set tls_ca_file for this relay if it uses a private CA"
            let error = try #require(await relay.lastConnectionError())
            #expect(error.summary == line)
            #expect(await relay.connectionFailure(waited: .seconds(2)) == line)
            let health = await relay.health().lastError ?? ""
            #expect(health.hasPrefix(line) && health.contains("CERTIFICATE_VERIFY_FAILED"), "\(health)")
            let logged = recorder.all.filter { $0.message == "relay disconnected" }
            #expect(!logged.isEmpty)
            #expect(logged.allSatisfy { $0.metadata["relay.error"] == line }, "\(logged.map(\.metadata))")
            #expect(logged.allSatisfy { $0.metadata["relay.error.detail"]?.contains("CERTIFICATE_VERIFY_FAILED") == true })
        }
    }
}
