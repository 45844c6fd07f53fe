import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import RelayClient

@Suite("ClientFrameEncoder (no I/O)")
struct ClientFrameEncoderTests {
    /// Everything `handler` writes for `frame`, joined.
    func encoded(_ frame: WebSocketFrame, by handler: any ChannelHandler) throws -> [UInt8] {
        let channel = EmbeddedChannel(handler: handler)
        try channel.writeOutbound(frame)
        var bytes: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        _ = try channel.finish()
        return bytes
    }

    @Test(arguments: [0, 1, 7, 8, 9, 125, 126, 127, 1_000, 65_535, 65_536, 70_001])
    func writesWhatNIOsEncoderWrites(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for (opcode, rsv1, key) in [
            (WebSocketOpcode.text, false, WebSocketMaskingKey([0x12, 0x34, 0x56, 0x78])), (.binary, true, WebSocketMaskingKey([0xFF, 0x00, 0xA5, 0x5A])),
            (.ping, false, nil),
        ] {
            var frame = WebSocketFrame(fin: true, rsv1: rsv1, opcode: opcode, data: ByteBuffer(bytes: payload))
            frame.maskKey = key
            #expect(try encoded(frame, by: ClientFrameEncoder()) == encoded(frame, by: WebSocketFrameEncoder()))
        }
    }

    @Test func masksExtensionDataAndPayloadAsOneSequence() throws {
        var frame = WebSocketFrame(
            fin: false, opcode: .continuation, data: ByteBuffer(string: "application data, long enough for whole words"),
            extensionData: ByteBuffer(string: "ext"))
        frame.maskKey = WebSocketMaskingKey([1, 2, 3, 4])
        #expect(try encoded(frame, by: ClientFrameEncoder()) == encoded(frame, by: WebSocketFrameEncoder()))
    }
}
