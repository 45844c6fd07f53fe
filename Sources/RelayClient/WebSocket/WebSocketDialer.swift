import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import NostrCore
import Synchronization

/// The relay answered the upgrade request with something other than `101 Switching Protocols`.
public struct WebSocketUpgradeRefused: Error, Sendable, CustomStringConvertible {
    public let url: RelayURL
    /// The HTTP status of the answer; nil when the connection closed without one.
    public var status: Int?
    public var description: String {
        "\(url) did not upgrade the connection to a WebSocket\(status.map { " (HTTP \($0))" } ?? "")"
    }
}

/// Opens a relay's WebSocket on swift-nio directly: TCP, TLS for `wss://` with the system's
/// trust roots, the HTTP/1.1 upgrade and permessage-deflate negotiation. swift-websocket's
/// client writes and flushes every frame on its own and spends four `getrandom` calls on each
/// frame's mask; owning the pipeline lets a burst of EVENTs leave in one write.
struct WebSocketDialer: Sendable {
    /// An upgraded connection, and permessage-deflate's parameters when the relay accepted it.
    struct Socket: Sendable {
        let channel: NIOAsyncChannel<[WebSocketFrame], WebSocketFrame>
        let deflate: PerMessageDeflate?
        /// Feeds the connection's `ReadPacer`.
        let replies: ReadPacer.Gauge
    }

    private enum Upgrade: Sendable {
        case upgraded(Socket)
        case refused(status: Int?)
    }

    /// What one attempt saw besides the error it ended with: whether the deadline closed the
    /// channel, what certificate verification said, the status of a non-upgrade answer.
    /// Written on the event loop, read after the attempt ended.
    final class Attempt: Sendable {
        private struct State {
            var timedOut = false
            var certificates = RelayConnectionError.CertificateObservation()
            var status: Int?
        }
        private let state = Mutex(State())

        var timedOut: Bool { state.withLock { $0.timedOut } }
        var certificates: RelayConnectionError.CertificateObservation { state.withLock { $0.certificates } }
        var status: Int? { state.withLock { $0.status } }

        func deadlinePassed() { state.withLock { $0.timedOut = true } }
        func answered(status: Int) { state.withLock { if $0.status == nil { $0.status = status } } }

        /// NIOSSL's per-certificate callback: keeps BoringSSL's verdict, notes a failure and
        /// whether the failing certificate is past its `notValidAfter`.
        func verified(_ result: NIOSSLVerificationResult, _ certificate: NIOSSLCertificate) -> NIOSSLVerificationResult {
            if result == .failed {
                let notValidAfter = Int64(certificate.notValidAfter)
                let expired = notValidAfter < Int64(time(nil))
                state.withLock {
                    $0.certificates.verificationFailed = true
                    if expired, $0.certificates.expiredNotValidAfter == nil { $0.certificates.expiredNotValidAfter = notValidAfter }
                }
            }
            return result
        }
    }

    let configuration: RelayConfiguration
    let logger: Logger

    /// Connects, or throws a `RelayConnectionError` saying why not (refused, DNS, a timeout when
    /// TCP, TLS and the upgrade together take longer than `connectTimeout`, a certificate
    /// problem, a plain HTTP answer).
    func connect() async throws(RelayConnectionError) -> Socket {
        let url = configuration.url
        let timeout = configuration.connectTimeout
        let attempt = Attempt()
        do {
            return try await connect(url, attempt: attempt)
        } catch {
            // The deadline closed the channel: whatever that close raised, the cause is the deadline.
            let error = attempt.timedOut ? RelayConnectTimeout(url: url, timeout: timeout) : error
            throw RelayConnectionError.classify(
                error, url: url, timeout: timeout,
                timedOut: attempt.timedOut, certificates: attempt.certificates)
        }
    }

    private func connect(_ target: RelayURL, attempt: Attempt) async throws -> Socket {
        let url = configuration.url
        let timeout = configuration.connectTimeout
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var tls = TLSConfiguration.makeClientConfiguration()
        if !configuration.additionalTrustRoots.isEmpty {
            tls.additionalTrustRoots = [.certificates(configuration.additionalTrustRoots)]
        }
        let sslContext = target.secure ? try NIOSSLContext(configuration: tls) : nil
        let head = Self.requestHead(target: target, offerDeflate: configuration.offersCompression)
        let maxFrame = configuration.effectiveMaxFrameSize
        let logger = self.logger
        let upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(
                        channel: channel, target: target, sslContext: sslContext, head: head,
                        maxFrame: maxFrame, deadline: deadline, attempt: attempt, logger: logger)
                }
            }
        switch try await upgrade.get() {
        case let .upgraded(socket): return socket
        case let .refused(status): throw WebSocketUpgradeRefused(url: url, status: status)
        }
    }

    private static func requestHead(target: RelayURL, offerDeflate: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: "relaysync")
        if offerDeflate { headers.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.offer) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: target.requestTarget, headers: headers)
    }

    /// Runs on the channel's event loop before TCP connects.
    private static func configure(
        channel: any Channel, target: RelayURL, sslContext: NIOSSLContext?,
        head: HTTPRequestHead, maxFrame: Int,
        deadline: NIODeadline, attempt: Attempt, logger: Logger
    ) throws -> EventLoopFuture<Upgrade> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxFrame) { channel, response in
            channel.eventLoop.makeCompletedFuture {
                let deflate = try PerMessageDeflate.negotiate(response.headers["Sec-WebSocket-Extensions"])
                if let deflate {
                    logger.debug("websocket opened", metadata: ["relay.deflate": "\(deflate)"])
                }
                let replies = ReadPacer.Gauge()
                let operations = channel.pipeline.syncOperations
                // NIO's encoder masks a byte at a time; ours takes its place (ClientFrameEncoder).
                let nioEncoder = try operations.context(handlerType: WebSocketFrameEncoder.self)
                try operations.addHandler(ClientFrameEncoder(), position: .after(nioEncoder.handler))
                operations.removeHandler(context: nioEncoder, promise: nil)
                try channel.pipeline.syncOperations.addHandler(ReadPacer(gauge: replies), position: .first)
                try channel.pipeline.syncOperations.addHandler(FrameBatcher())
                let channel = try NIOAsyncChannel<[WebSocketFrame], WebSocketFrame>(wrappingChannelSynchronously: channel)
                return .upgraded(Socket(channel: channel, deflate: deflate, replies: replies))
            }
        }
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(
            upgradeConfiguration: .init(
                upgradeRequestHead: head,
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededFuture(.refused(status: attempt.status))
                }))
        pipeline.leftOverBytesStrategy = .forwardBytes
        if let sslContext {
            let tls = try NIOSSLClientHandler.verifying(
                context: sslContext, serverHostname: target.isIPAddress ? nil : target.host,
                callback: attempt.verified)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
        }
        let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
        // The answer's status, seen before the upgrade handler decides: a refusal names it.
        let upgradeHandler = try channel.pipeline.syncOperations.context(handlerType: NIOTypedHTTPClientUpgradeHandler<Upgrade>.self)
        try channel.pipeline.syncOperations.addHandler(UpgradeAnswerObserver(attempt: attempt), position: .before(upgradeHandler.handler))
        // TLS and the upgrade are not covered by the TCP connect timeout: a relay that accepts
        // the connection and then says nothing is cut off at the same deadline.
        let watchdog = channel.eventLoop.scheduleTask(deadline: deadline) {
            attempt.deadlinePassed()
            channel.close(promise: nil)
        }
        upgraded.whenComplete { _ in watchdog.cancel() }
        return upgraded
    }
}

/// Notes the status of the answer to the upgrade request, then leaves the pipeline.
private final class UpgradeAnswerObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart

    let attempt: WebSocketDialer.Attempt

    init(attempt: WebSocketDialer.Attempt) { self.attempt = attempt }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case let .head(head) = Self.unwrapInboundIn(data) {
            attempt.answered(status: Int(head.status.code))
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }
}

/// NIOSSL's per-certificate verification callback keeps BoringSSL's own verification and
/// hostname check and lets the dialer see what failed; NIOSSL marks the initializer deprecated
/// in favour of callbacks that replace verification altogether. Reached through a protocol
/// requirement so the one deliberate use does not warn on every build.
private protocol PerCertificateVerification {
    init(context: NIOSSLContext, serverHostname: String?, verificationCallback: NIOSSLVerificationCallback?) throws
}

extension NIOSSLClientHandler: PerCertificateVerification {}

extension NIOSSLClientHandler {
    fileprivate static func verifying(
        context: NIOSSLContext, serverHostname: String?,
        callback: @escaping NIOSSLVerificationCallback
    ) throws -> NIOSSLClientHandler {
        try make(NIOSSLClientHandler.self, context: context, serverHostname: serverHostname, callback: callback)
    }

    private static func make<H: PerCertificateVerification>(
        _ type: H.Type, context: NIOSSLContext, serverHostname: String?,
        callback: @escaping NIOSSLVerificationCallback
    ) throws -> H {
        try H(context: context, serverHostname: serverHostname, verificationCallback: callback)
    }
}
