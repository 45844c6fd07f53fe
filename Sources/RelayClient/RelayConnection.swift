import Logging
import NIOCore
import NostrCore
import WSClient
import WSCompression

/// Why this side ended a connection.
struct ConnectionClosedLocally: Error, CustomStringConvertible {
    var description: String { "connection closed by the client" }
}

/// The WebSocket could not be opened in time.
public struct RelayConnectTimeout: Error, Sendable, CustomStringConvertible {
    public let url: String
    public let timeout: Duration
    public var description: String { "connecting to \(url) took longer than \(timeout)" }
}

/// One WebSocket connection to the relay: a reader that decodes, verifies and routes frames,
/// and a writer that drains what the core queued. Ends when either side closes.
struct RelayConnection: Sendable {
    let core: RelayCore
    let configuration: RelayConfiguration
    let logger: Logger

    var clientConfiguration: WebSocketClientConfiguration {
        let frame = configuration.effectiveMaxFrameSize
        return WebSocketClientConfiguration(
            maxFrameSize: frame,
            extensions: configuration.offersCompression ? [.perMessageDeflate(maxDecompressedFrameSize: frame)] : [],
            closeTimeout: .seconds(2),
            autoPing: .enabled(timePeriod: configuration.pingInterval),
            // Text frames are decoded into Strings, which repairs bad UTF-8; an event so repaired fails
            // its id check and is counted invalid like any bad event, where validation here would drop
            // the whole connection, and it would be a second pass over every frame.
            validateUTF8: false)
    }

    /// Connects and serves until the connection ends; returns the error that ended it, if any.
    func run() async -> (any Error)? {
        let core = self.core
        let maxMessage = configuration.effectiveMaxFrameSize
        let opened = OneShotSignal()
        let clientConfiguration = self.clientConfiguration
        let logger = self.logger
        let timeout = configuration.connectTimeout
        let url = configuration.url
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let client = WebSocketClient(url: url, configuration: clientConfiguration, logger: logger) { inbound, outbound, _ in
                        opened.fire()
                        try await Self.serve(core: core, inbound: inbound, outbound: outbound, maxMessage: maxMessage)
                    }
                    _ = try await client.run()
                }
                group.addTask {
                    // Only the opening is timed; an open connection is watched by the core.
                    if await opened.sleep(for: timeout) { try await Task.sleep(for: .seconds(1_000_000_000)) }
                    throw RelayConnectTimeout(url: url, timeout: timeout)
                }
                try await group.next()
                group.cancelAll()
            }
            return nil
        } catch is ConnectionClosedLocally {
            return nil
        } catch {
            return error
        }
    }

    private static func serve(core: RelayCore, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, maxMessage: Int) async throws {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        guard let generation = await core.opened(outbound: continuation) else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in stream {
                    try await outbound.write(.text(text))
                }
                // The core finished the stream: it wants this connection gone.
                if !Task.isCancelled { throw ConnectionClosedLocally() }
            }
            group.addTask {
                var messages = inbound.messages(maxSize: maxMessage).makeAsyncIterator()
                while let message = try await messages.next() {
                    let text: String
                    switch message {
                    case let .text(t): text = t
                    case let .binary(b):
                        guard let t = b.getString(at: b.readerIndex, length: b.readableBytes) else {
                            await core.nonTextFrame(generation: generation)
                            continue
                        }
                        text = t
                    }
                    await Self.process(text, core: core, generation: generation)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private static func process(_ text: String, core: RelayCore, generation: Int) async {
        let message: RelayMessage
        do {
            message = try RelayMessage.decode(text)
        } catch {
            await core.malformed(error, generation: generation)
            return
        }
        if case let .event(sub, event) = message {
            // Verified here, on the connection's task, so the core is not held up by signatures.
            let verification = event.verify()
            if let handle = await core.route(subscription: sub, event: event, verification: verification, generation: generation) {
                await handle.buffer.push(.event(event))
            }
        } else {
            await core.handle(message, generation: generation)
        }
    }
}
