import NIOCore
import NIOWebSocket

/// Joins data frames into messages (RFC 6455 §5.4) and holds each message to the size cap.
/// Control frames never reach it; inflating is left to the caller. A value type, tested
/// without a socket.
struct MessageAssembler {
    enum Output {
        case none
        /// `compressed`: the payload is still deflated (RFC 7692 RSV1 on the first frame).
        case message(ByteBuffer, text: Bool, compressed: Bool)
        case violation(WebSocketErrorCode, String)
    }

    let maxMessage: Int
    /// permessage-deflate was negotiated, so a message's first frame may carry RSV1.
    let compression: Bool
    private var partial: ByteBuffer?
    private var partialIsText = false
    private var partialIsCompressed = false

    init(maxMessage: Int, compression: Bool) {
        self.maxMessage = maxMessage
        self.compression = compression
    }

    mutating func receive(_ frame: WebSocketFrame) -> Output {
        switch frame.opcode {
        case .text, .binary:
            guard partial == nil else { return .violation(.protocolError, "new message inside a fragmented one") }
            let allowed: WebSocketFrame.ReservedBits = compression ? .rsv1 : []
            guard allowed.isSuperset(of: frame.reservedBits) else { return .violation(.protocolError, "reserved bits set that no extension uses") }
            let data = frame.unmaskedData
            guard data.readableBytes <= maxMessage else { return tooLarge(data.readableBytes) }
            let text = frame.opcode == .text, compressed = frame.rsv1
            if frame.fin { return .message(data, text: text, compressed: compressed) }
            partial = data
            partialIsText = text
            partialIsCompressed = compressed
            return .none
        case .continuation:
            guard var buffer = partial else { return .violation(.protocolError, "continuation frame without a message") }
            guard frame.reservedBits.isEmpty else { return .violation(.protocolError, "reserved bits set on a continuation frame") }
            partial = nil
            var data = frame.unmaskedData
            let size = buffer.readableBytes + data.readableBytes
            guard size <= maxMessage else { return tooLarge(size) }
            buffer.writeBuffer(&data)
            if frame.fin { return .message(buffer, text: partialIsText, compressed: partialIsCompressed) }
            partial = buffer
            return .none
        default:
            return .violation(.protocolError, "not a data frame: opcode \(frame.opcode)")
        }
    }

    private mutating func tooLarge(_ size: Int) -> Output {
        partial = nil
        return .violation(.messageTooLarge, "message of \(size) bytes is over the \(maxMessage)-byte cap")
    }
}
