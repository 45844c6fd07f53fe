import Logging
import NIOCore
import NIOWebSocket
import NostrCore
import Synchronization

/// Why this side ended a connection.
struct ConnectionClosedLocally: Error, CustomStringConvertible {
    var description: String { "connection closed by the client" }
}

/// The WebSocket could not be opened in time.
public struct RelayConnectTimeout: Error, Sendable, CustomStringConvertible {
    public let url: RelayURL
    public let timeout: Duration
    public var description: String { "connecting to \(url) took longer than \(timeout)" }
}

/// The relay broke the WebSocket protocol (RFC 6455), or sent a message over the size cap.
public struct WebSocketViolation: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case compressedWithoutDeflate
        case inflatesPastCap(Int)
        /// What the message assembler found wrong with the frames.
        case framing(String)
        case reservedOpcode(String)
    }

    public let url: RelayURL
    let kind: Kind

    init(url: RelayURL, _ kind: Kind) {
        self.url = url
        self.kind = kind
    }

    public var reason: String {
        switch kind {
        case .compressedWithoutDeflate: "compressed message without permessage-deflate"
        case let .inflatesPastCap(cap): "message inflates past the \(cap)-byte cap"
        case let .framing(what): what
        case let .reservedOpcode(opcode): "reserved opcode \(opcode)"
        }
    }

    public var description: String { "\(url) broke the WebSocket protocol: \(reason)" }
}

/// Neither a pong nor any other frame arrived for a whole ping period.
public struct WebSocketPingTimeout: Error, Sendable, CustomStringConvertible {
    public let url: RelayURL
    public let period: Duration
    public var description: String { "\(url) answered no ping and sent nothing for \(period)" }
}

/// One WebSocket connection to the relay: a reader that decodes, verifies and routes frames,
/// a writer that drains what the core queued, and a pinger. Ends when any of them does.
struct RelayConnection: Sendable {
    let core: RelayCore
    let configuration: RelayConfiguration
    let logger: Logger

    /// How long a local close waits for the relay's answering close frame.
    static let closeTimeout: Duration = .seconds(2)

    /// Connects and serves until the connection ends; returns the error that ended it, if any.
    func run() async -> (any Error)? {
        do {
            let socket = try await WebSocketDialer(configuration: configuration, logger: logger).connect()
            try await withTaskExecutorPreference(EventLoopTaskExecutor(socket.channel.channel.eventLoop)) {
                try await socket.channel.executeThenClose { inbound, outbound in
                    try await serve(inbound: inbound, outbound: outbound, deflate: socket.deflate, replies: socket.replies)
                }
            }
            return nil
        } catch is ConnectionClosedLocally {
            return nil
        } catch let error as NIOAsyncWriterError where error == .alreadyFinished() {
            // A write raced the close: the connection was ending anyway.
            return nil
        } catch {
            return error
        }
    }

    private func serve(
        inbound: NIOAsyncChannelInboundStream<[WebSocketFrame]>,
        outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        deflate: PerMessageDeflate?,
        replies: ReadPacer.Gauge
    ) async throws {
        let outbox = Outbox()
        guard let generation = await core.opened(outbound: outbox, deflate: deflate != nil, replies: replies) else { return }
        let sender = FrameSender(outbound: outbound)
        let clock = ContinuousClock()
        let origin = clock.now
        let keepalive = KeepaliveCell()
        let (core, url, period) = (self.core, configuration.url, configuration.pingInterval)
        let maxMessage = configuration.effectiveMaxFrameSize
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let deflater = try deflate.flatMap { $0.compressesOutbound ? try Deflater($0) : nil }
                while let texts = await outbox.next() {
                    var frames: [WebSocketFrame] = []
                    frames.reserveCapacity(texts.count)
                    for text in texts {
                        var frame = WebSocketFrame(fin: true, opcode: .text, data: text.bytes)
                        if let compressed = try deflater?.deflate(frame.data) {
                            frame.data = compressed
                            frame.rsv1 = true
                        }
                        frames.append(frame)
                    }
                    try await sender.send(frames)
                }
                guard !Task.isCancelled else { return }
                // The core finished the outbox: it wants this connection gone. The reader ends
                // the group when the relay answers the close; this bounds the wait.
                try await sender.sendClose(.normalClosure)
                try await Task.sleep(for: Self.closeTimeout)
                throw ConnectionClosedLocally()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: period)
                    switch keepalive.state.withLock({ $0.periodElapsed(at: clock.now - origin) }) {
                    case let .ping(payload): try await sender.sendControl(.ping, payload)
                    case .dead: throw WebSocketPingTimeout(url: url, period: period)
                    }
                }
            }
            group.addTask {
                var assembler = MessageAssembler(maxMessage: maxMessage, compression: deflate != nil)
                let inflater = try deflate.map { try Inflater($0, maxSize: maxMessage) }
                reads: for try await frames in inbound {
                    // A read's messages are decoded and verified together, then routed in order.
                    var messages: [ByteBuffer] = []
                    var closing = false
                    do {
                        frameLoop: for frame in frames {
                            let now = clock.now - origin
                            switch frame.opcode {
                            case .ping:
                                keepalive.state.withLock { $0.frameReceived(at: now) }
                                try await sender.sendControl(.pong, frame.unmaskedData)
                            case .pong:
                                if let roundTrip = keepalive.state.withLock({ $0.pong(frame.unmaskedData, at: now) }) {
                                    await core.pingAnswered(roundTrip, generation: generation)
                                }
                            case .connectionClose:
                                closing = true
                                break frameLoop
                            case .text, .binary, .continuation:
                                keepalive.state.withLock { $0.frameReceived(at: now) }
                                switch assembler.receive(frame) {
                                case .none:
                                    continue
                                case let .message(payload, _, compressed):
                                    var message = payload
                                    if compressed {
                                        guard let inflater else { throw WebSocketViolation(url: url, .compressedWithoutDeflate) }
                                        do {
                                            message = try inflater.inflate(payload)
                                        } catch is Inflater.TooLarge {
                                            try? await sender.sendClose(.messageTooLarge)
                                            throw WebSocketViolation(url: url, .inflatesPastCap(maxMessage))
                                        }
                                    }
                                    // Binary frames are read as text too: NIP-01 speaks JSON, and a relay
                                    // that sends it in binary frames loses nothing that way.
                                    messages.append(message)
                                case let .violation(code, reason):
                                    try? await sender.sendClose(code)
                                    throw WebSocketViolation(url: url, .framing(reason))
                                }
                            default:
                                try? await sender.sendClose(.protocolError)
                                throw WebSocketViolation(url: url, .reservedOpcode("\(frame.opcode)"))
                            }
                        }
                    } catch {
                        // What arrived before the violation is still delivered.
                        await Self.process(messages, core: core, generation: generation)
                        throw error
                    }
                    await Self.process(messages, core: core, generation: generation)
                    if closing {
                        try? await sender.sendClose(.normalClosure)
                        break reads
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private static func process(_ payloads: [ByteBuffer], core: RelayCore, generation: Int) async {
        guard !payloads.isEmpty else { return }
        let decoded = payloads.map { payload in
            payload.withUnsafeReadableBytes { raw -> Result<RelayMessage, MessageDecodingError> in
                let bytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
                do throws(MessageDecodingError) { return .success(try RelayMessage.decode(utf8: bytes)) } catch { return .failure(error) }
            }
        }
        // Verified here, before the core, so the core is not held up by signatures.
        var events: [Event] = []
        for case let .success(.event(_, event)) in decoded { events.append(event) }
        let verifications = BatchVerifier.verify(events)
        var next = 0
        for result in decoded {
            switch result {
            case let .failure(error):
                await core.malformed(error, generation: generation)
            case let .success(.event(sub, event)):
                let verification = verifications[next]
                next += 1
                if let handle = await core.route(subscription: sub, event: event, verification: verification, generation: generation) {
                    await handle.buffer.push(.event(event))
                }
            case let .success(message):
                await core.handle(message, generation: generation)
            }
        }
    }
}

/// The keepalive state the reader and the pinger share.
private final class KeepaliveCell: Sendable {
    let state = Mutex(Keepalive(openedAt: .zero))
}
