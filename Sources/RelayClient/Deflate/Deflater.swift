import CompressNIO
import NIOCore

/// Compresses outbound messages for one connection (RFC 7692 §7.2.1). Owned by the writer task.
final class Deflater {
    /// Shorter messages (REQ, CLOSE, small events) go out uncompressed: deflating them saves
    /// nothing and costs both sides CPU.
    static let minimumSize = 256

    private let compressor: ZlibCompressor
    private let resetAfterMessage: Bool

    init(_ parameters: PerMessageDeflate) throws {
        compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: Int32(parameters.clientMaxWindowBits)))
        resetAfterMessage = parameters.clientNoContextTakeover
    }

    /// The compressed payload, or nil when the message goes out as it is.
    func deflate(_ message: ByteBuffer) throws -> ByteBuffer? {
        guard message.readableBytes >= Self.minimumSize else { return nil }
        var input = message
        var output = try input.compressStream(with: compressor, flush: .sync)
        // A sync flush ends in 00 00 ff ff, which the receiver puts back itself.
        output.moveWriterIndex(to: output.writerIndex - 4)
        if resetAfterMessage { try compressor.reset() }
        return output
    }
}
