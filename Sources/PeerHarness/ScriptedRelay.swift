import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import NostrCore
import Synchronization

/// A WebSocket server on 127.0.0.1 whose answers a test scripts: for hostile behaviour no real
/// relay produces (garbage, huge frames, floods, bad signatures, odd OKs). Each connection runs
/// `onConnect`, then `onText` for every text frame, in order. Stop it with `stop()` (or use
/// `ScriptedRelay.with`).
public final class ScriptedRelay: Sendable {
    public struct Behaviour: Sendable {
        public var onConnect: @Sendable (ScriptedRelayConnection) async throws -> Void
        public var onText: @Sendable (ScriptedRelayConnection, String) async throws -> Void
        /// NIP-11 document served to plain HTTP GETs; nil closes them unanswered.
        public var information: String?
        /// Whether pings get pongs (false: a relay that stopped answering but keeps the socket open).
        public var answersPings = true
        /// Whether WebSocket upgrades are refused (the request is then answered as plain HTTP).
        public var refusesUpgrade = false

        public init(
            information: String? = nil,
            answersPings: Bool = true,
            refusesUpgrade: Bool = false,
            onConnect: @escaping @Sendable (ScriptedRelayConnection) async throws -> Void = { _ in },
            onText: @escaping @Sendable (ScriptedRelayConnection, String) async throws -> Void
        ) {
            self.information = information
            self.answersPings = answersPings
            self.refusesUpgrade = refusesUpgrade
            self.onConnect = onConnect
            self.onText = onText
        }
    }

    private enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case plainHTTP(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>)
        case notUpgraded
    }

    public let port: Int
    private let tls: Bool
    public var url: RelayURL { RelayURL("\(tls ? "wss" : "ws")://127.0.0.1:\(port)")! }
    private let serverChannel: any Channel
    private let serving: Task<Void, Never>
    private let connections = Mutex<[Int: any Channel]>([:])
    private let counter = Mutex(0)

    /// Connections accepted so far.
    public var connectionCount: Int { counter.withLock { $0 } }

    private init(port: Int, tls: Bool, serverChannel: any Channel, serving: Task<Void, Never>) {
        self.port = port
        self.tls = tls
        self.serverChannel = serverChannel
        self.serving = serving
    }

    /// Binds (port 0 = any free port) and serves until `stop()`; with `tls`, as `wss://`.
    public static func start(port: Int = 0, tls: NIOSSLContext? = nil, behaviour: Behaviour) async throws -> ScriptedRelay {
        let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
            maxFrameSize: 16 << 20,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(behaviour.refusesUpgrade ? nil : HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    .websocket(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                }
            })
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    let configuration = NIOTypedHTTPServerUpgradeConfiguration<Upgrade>(
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                guard behaviour.information != nil else {
                                    _ = channel.close()
                                    return .notUpgraded
                                }
                                return .plainHTTP(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                            }
                        })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        let boundPort = server.channel.localAddress?.port ?? port
        let holder = RelayHolder()
        let serving = Task<Void, Never> {
            _ = try? await server.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await upgrade in inbound {
                            group.addTask {
                                switch try? await upgrade.get() {
                                case let .websocket(channel)?:
                                    let relay = holder.relay.withLock { $0 }
                                    await relay?.serve(channel, behaviour: behaviour)
                                case let .plainHTTP(channel)?:
                                    await Self.answer(channel, with: behaviour.information ?? "{}")
                                default:
                                    return
                                }
                            }
                        }
                    } catch {}
                }
            }
        }
        let relay = ScriptedRelay(port: boundPort, tls: tls != nil, serverChannel: server.channel, serving: serving)
        holder.relay.withLock { $0 = relay }
        return relay
    }

    /// Answers one HTTP request with `document` as `application/nostr+json`, then closes.
    private static func answer(_ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, with document: String) async {
        try? await channel.executeThenClose { inbound, outbound in
            for try await part in inbound {
                guard case .end = part else { continue }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/nostr+json")
                headers.add(name: "Content-Length", value: "\(document.utf8.count)")
                headers.add(name: "Connection", value: "close")
                try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(string: document))))
                try await outbound.write(.end(nil))
                return
            }
        }
    }

    /// Starts a relay, runs `body`, and stops the relay whatever happens.
    public static func with<T: Sendable>(_ behaviour: Behaviour, tls: NIOSSLContext? = nil, _ body: (ScriptedRelay) async throws -> T) async throws -> T {
        let relay = try await start(tls: tls, behaviour: behaviour)
        do {
            let result = try await body(relay)
            await relay.stop()
            return result
        } catch {
            await relay.stop()
            throw error
        }
    }

    /// Closes the listening socket and every connection.
    public func stop() async {
        try? await serverChannel.close()
        let open = connections.withLock { c -> [any Channel] in
            defer { c = [:] }; return Array(c.values)
        }
        for channel in open { try? await channel.close() }
        serving.cancel()
        await serving.value
    }

    /// Drops every open connection (the listener stays).
    public func dropConnections() async {
        let open = connections.withLock { c -> [any Channel] in
            defer { c = [:] }; return Array(c.values)
        }
        for channel in open { try? await channel.close() }
    }

    private func serve(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, behaviour: Behaviour) async {
        let index = counter.withLock { n -> Int in
            n += 1; return n
        }
        connections.withLock { $0[index] = channel.channel }
        defer { _ = connections.withLock { $0.removeValue(forKey: index) } }
        try? await channel.executeThenClose { inbound, outbound in
            let connection = ScriptedRelayConnection(index: index, outbound: outbound, channel: channel.channel)
            try await behaviour.onConnect(connection)
            var pending: ByteBuffer?
            for try await frame in inbound {
                switch frame.opcode {
                case .text, .continuation:
                    var data = frame.unmaskedData
                    if frame.opcode == .text { pending = ByteBuffer() }
                    pending?.writeBuffer(&data)
                    guard frame.fin, let whole = pending else { continue }
                    pending = nil
                    try await behaviour.onText(connection, String(buffer: whole))
                case .ping where behaviour.answersPings:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                case .connectionClose:
                    var code = ByteBuffer()
                    code.write(webSocketErrorCode: .normalClosure)
                    try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
                    return
                default:
                    continue
                }
            }
        }
    }
}

/// One client connection of a `ScriptedRelay`, as seen by the script.
public final class ScriptedRelayConnection: Sendable {
    /// 1 for the first connection the relay accepted, 2 for the next...
    public let index: Int
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let channel: any Channel

    init(index: Int, outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, channel: any Channel) {
        self.index = index
        self.outbound = outbound
        self.channel = channel
    }

    public func send(_ text: String) async throws {
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
    }

    public func send(_ message: RelayMessage) async throws {
        try await send(message.encoded)
    }

    /// A text frame of arbitrary bytes, valid UTF-8 or not.
    public func sendText(bytes: [UInt8]) async throws {
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes)))
    }

    public func sendBinary(_ bytes: [UInt8]) async throws {
        try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: bytes)))
    }

    /// One text frame of `size` bytes (e.g. 50 MB to test the client's frame cap).
    public func sendHugeFrame(size: Int) async throws {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(UInt8(ascii: "a"), count: size)
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: buffer))
    }

    /// Closes the TCP connection without a WebSocket close handshake.
    public func drop() async {
        try? await channel.close()
    }

    public var isActive: Bool { channel.isActive }
}

private final class RelayHolder: Sendable {
    let relay = Mutex<ScriptedRelay?>(nil)
}
