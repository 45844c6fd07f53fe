import CompressNIO
import NIOCore

/// Decompresses inbound messages for one connection (RFC 7692 §7.2.2). Owned by the reader task.
final class Inflater {
    private let decompressor: ZlibDecompressor
    private let resetAfterMessage: Bool
    private let maxSize: Int

    /// Thrown when a message inflates past the cap: a small frame can hide a huge message.
    struct TooLarge: Error {}

    init(_ parameters: PerMessageDeflate, maxSize: Int) throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        resetAfterMessage = parameters.serverNoContextTakeover
        self.maxSize = maxSize
    }

    func inflate(_ payload: ByteBuffer) throws -> ByteBuffer {
        var input = payload
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        let output: ByteBuffer
        do {
            output = try input.decompressStream(with: decompressor, maxSize: maxSize)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw TooLarge()
        }
        if resetAfterMessage { try decompressor.reset() }
        return output
    }
}
