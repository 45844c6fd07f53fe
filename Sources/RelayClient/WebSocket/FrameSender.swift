import NIOCore
import NIOWebSocket
import Synchronization

/// Writes one connection's frames, masked as RFC 6455 §5.3 requires of a client. A batch of
/// data frames goes out in one write and one flush. Any task may send; nothing is sent after
/// the close frame.
final class FrameSender: Sendable {
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let keys = Mutex(MaskingKeys())
    private let closeSent = Atomic<Bool>(false)

    init(outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>) {
        self.outbound = outbound
    }

    func send(_ frames: consuming [WebSocketFrame]) async throws {
        guard !closeSent.load(ordering: .relaxed) else { return }
        var frames = frames
        keys.withLock { keys in
            for i in frames.indices { frames[i].maskKey = keys.next() }
        }
        try await outbound.write(contentsOf: frames)
    }

    func sendControl(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) async throws {
        try await send([WebSocketFrame(fin: true, opcode: opcode, data: payload)])
    }

    /// Sends the close frame once; later frames are dropped (RFC 6455 §5.5.1).
    func sendClose(_ code: WebSocketErrorCode) async throws {
        guard !closeSent.exchange(true, ordering: .relaxed) else { return }
        var payload = ByteBuffer()
        payload.write(webSocketErrorCode: code)
        var frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
        frame.maskKey = keys.withLock { $0.next() }
        try await outbound.write(frame)
    }
}
