import Foundation
import NIOCore

/// A file's bytes as an async sequence of buffers, for streaming uploads without holding the file.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    var chunkSize = 256 * 1024

    final class Descriptor {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { if fd >= 0 { close(fd) } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: Descriptor
        let chunkSize: Int
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            guard !done else { return nil }
            guard file.fd >= 0 else { throw FetchFailure(.io, "cannot open the stored blob") }
            var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
            let fd = file.fd
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkSize) { raw -> Int in
                while true {
                    let r = read(fd, raw.baseAddress!, chunkSize)
                    if r < 0 && errno == EINTR { continue }
                    if r < 0 { throw FetchFailure(.io, "read: \(String(cString: strerror(errno)))") }
                    return r
                }
            }
            if n == 0 {
                done = true
                return nil
            }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(file: Descriptor(open(path, O_RDONLY)), chunkSize: chunkSize)
    }
}
