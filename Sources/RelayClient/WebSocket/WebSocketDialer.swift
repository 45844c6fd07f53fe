import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// The relay answered the upgrade request with something other than `101 Switching Protocols`.
public struct WebSocketUpgradeRefused: Error, Sendable, CustomStringConvertible {
    public let url: String
    public var description: String { "\(url) did not upgrade the connection to a WebSocket" }
}

/// The relay's address is not a `ws://` or `wss://` URL with a host and a valid port.
public struct RelayURLInvalid: Error, Sendable, CustomStringConvertible {
    public let url: String
    public var description: String { "\(url) is not a ws:// or wss:// URL with a host" }
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
        case refused
    }

    let configuration: RelayConfiguration
    let logger: Logger

    /// Connects, or throws: `RelayConnectTimeout` when TCP, TLS and the upgrade together take
    /// longer than `connectTimeout`, TLS errors (certificate problems included) as NIOSSL reports them.
    func connect() async throws -> Socket {
        let url = configuration.url
        guard let target = RelayInformationFetcher.Target(relayURL: url) else {
            throw RelayURLInvalid(url: url)
        }
        let timeout = configuration.connectTimeout
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var tls = TLSConfiguration.makeClientConfiguration()
        if !configuration.additionalTrustRoots.isEmpty {
            tls.additionalTrustRoots = [.certificates(configuration.additionalTrustRoots)]
        }
        let sslContext = target.tls ? try NIOSSLContext(configuration: tls) : nil
        let head = Self.requestHead(target: target, offerDeflate: configuration.offersCompression)
        let maxFrame = configuration.effectiveMaxFrameSize
        let logger = self.logger
        let upgrade: EventLoopFuture<Upgrade>
        do {
            upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connect(host: target.host, port: target.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel: channel, target: target, sslContext: sslContext, head: head,
                                           maxFrame: maxFrame, deadline: deadline, logger: logger)
                    }
                }
        } catch ChannelError.connectTimeout {
            throw RelayConnectTimeout(url: url, timeout: timeout)
        }
        do {
            switch try await upgrade.get() {
            case let .upgraded(socket): return socket
            case .refused: throw WebSocketUpgradeRefused(url: url)
            }
        } catch let error where NIODeadline.now() >= deadline && !(error is WebSocketUpgradeRefused) {
            throw RelayConnectTimeout(url: url, timeout: timeout)
        }
    }

    private static func requestHead(target: RelayInformationFetcher.Target, offerDeflate: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: "relaysync")
        if offerDeflate { headers.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.offer) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path, headers: headers)
    }

    /// Runs on the channel's event loop before TCP connects.
    private static func configure(
        channel: any Channel, target: RelayInformationFetcher.Target, sslContext: NIOSSLContext?,
        head: HTTPRequestHead, maxFrame: Int,
        deadline: NIODeadline, logger: Logger
    ) throws -> EventLoopFuture<Upgrade> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxFrame) { channel, response in
            channel.eventLoop.makeCompletedFuture {
                let deflate = try PerMessageDeflate.negotiate(response.headers["Sec-WebSocket-Extensions"])
                if let deflate {
                    logger.debug("relay.websocket.deflate", metadata: ["relay.deflate": "\(deflate)"])
                }
                let replies = ReadPacer.Gauge()
                try channel.pipeline.syncOperations.addHandler(ReadPacer(gauge: replies), position: .first)
                try channel.pipeline.syncOperations.addHandler(FrameBatcher())
                let channel = try NIOAsyncChannel<[WebSocketFrame], WebSocketFrame>(wrappingChannelSynchronously: channel)
                return .upgraded(Socket(channel: channel, deflate: deflate, replies: replies))
            }
        }
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: .init(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.close(promise: nil)
                return channel.eventLoop.makeSucceededFuture(.refused)
            }))
        pipeline.leftOverBytesStrategy = .forwardBytes
        if let sslContext {
            let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: target.isIPAddress ? nil : target.host)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
        }
        let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
        // TLS and the upgrade are not covered by the TCP connect timeout: a relay that accepts
        // the connection and then says nothing is cut off at the same deadline.
        let watchdog = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
        upgraded.whenComplete { _ in watchdog.cancel() }
        return upgraded
    }
}
