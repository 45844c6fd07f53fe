import CZstd
import Foundation

/// Reads the lines of an archive file: RelaySync's multi-frame `.jsonl.zst`
/// (sealed or `.part`), any other zstd file, or plain JSONL (detected by
/// content, not name). Damage is recorded in `problems`, never a crash:
/// a corrupt frame is skipped up to the next frame, a file cut mid-frame
/// yields everything before the cut. The file is memory-mapped, so memory
/// stays flat however large it is.
public final class ArchiveReader {
    public let url: URL
    public private(set) var problems: [ArchiveReadProblem] = []
    public private(set) var compressedBytes = 0
    public private(set) var uncompressedBytes = 0
    public private(set) var isCompressed = false
    /// Byte offset just after the last complete, undamaged frame (recovery truncates here).
    public private(set) var cleanEnd = 0
    /// The last line that lies inside that clean prefix.
    public private(set) var lastCleanLine: String?

    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    public init(url: URL) {
        self.url = url
    }

    /// Calls `body` for every complete, non-blank line, in order.
    public func forEachLine(_ body: (ArchiveLine) throws -> Void) throws {
        problems = []
        try withMapping { mapped in
            guard let bytes = mapped else {
                compressedBytes = 0
                problems.append(ArchiveReadProblem(file: url.path, frame: nil, offset: 0, reason: "empty file"))
                return
            }
            compressedBytes = bytes.count
            try readLines(bytes, body)
        }
    }

    /// The file mapped read-only for `body` (nil when it is empty), unmapped after.
    private func withMapping<R>(_ body: (UnsafeBufferPointer<UInt8>?) throws -> R) throws -> R {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw ArchiveError(path: url.path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { Foundation.close(fd) }
        var info = stat()
        fstat(fd, &info)
        let size = Int(info.st_size)
        guard size > 0 else { return try body(nil) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw ArchiveError(path: url.path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        defer { munmap(map, size) }
        return try body(UnsafeBufferPointer(start: map.assumingMemoryBound(to: UInt8.self), count: size))
    }

    private func readLines(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (ArchiveLine) throws -> Void) throws {
        let size = bytes.count
        isCompressed = size >= 4 && Array(bytes[0..<4]) == Self.magic
        var splitter = LineSplitter()
        if isCompressed {
            try readZstd(bytes, &splitter, body)
        } else {
            uncompressedBytes = size
            try splitter.feed(bytes, body)
            try splitter.finish(body)
            cleanEnd = size
            lastCleanLine = splitter.lastLine
        }
    }

    private func readZstd(_ bytes: UnsafeBufferPointer<UInt8>, _ splitter: inout LineSplitter, _ body: (ArchiveLine) throws -> Void) throws {
        guard let dctx = ZSTD_createDCtx() else { throw ArchiveError(path: url.path, reason: "out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        let outSize = ZSTD_DStreamOutSize()
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: outSize)
        defer { out.deallocate() }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        var frame = 0, frameStart = 0
        var midFrame = false
        while input.pos < input.size {
            var output = ZSTD_outBuffer(dst: out, size: outSize, pos: 0)
            let ret = ZSTD_decompressStream(dctx, &output, &input)
            if ZSTD_isError(ret) != 0 {
                problems.append(
                    ArchiveReadProblem(
                        file: url.path, frame: frame, offset: frameStart,
                        reason: "corrupt frame (\(String(cString: ZSTD_getErrorName(ret)))); skipped to the next frame"))
                splitter.dropPartial()
                ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)
                guard let next = Self.findMagic(bytes, from: max(frameStart + 1, input.pos)) else { input.pos = input.size; midFrame = false; break }
                input.pos = next
                frameStart = next
                frame += 1
                midFrame = false
                continue
            }
            uncompressedBytes += output.pos
            try splitter.feed(UnsafeBufferPointer(start: out, count: output.pos), body)
            midFrame = true
            if ret == 0 {
                midFrame = false
                frame += 1
                frameStart = input.pos
                if splitter.atLineStart && problems.isEmpty {
                    cleanEnd = input.pos
                    lastCleanLine = splitter.lastLine
                }
            }
        }
        if midFrame {
            problems.append(
                ArchiveReadProblem(
                    file: url.path, frame: frame, offset: frameStart,
                    reason: "truncated: the file ends inside this frame; lines before it are intact"))
            splitter.dropPartial()
        }
        try splitter.finish(body)
    }

    /// The last non-blank line of a zstd file of whole frames, from its last frame alone: the
    /// frames before it are stepped over by their headers (`ZSTD_findFrameCompressedSize`), none
    /// decompressed. A sealed 64 MiB segment was read whole, each line made a `String`, to find
    /// where the archive ends at every start. Nil when the file is not zstd, a frame does not
    /// parse or ends mid-line, or the last frame has no line: the caller then reads it all.
    public func lastLineOfLastFrame() throws -> String? {
        try withMapping { mapped in try mapped.flatMap(lastLine(ofLastFrameIn:)) }
    }

    private func lastLine(ofLastFrameIn bytes: UnsafeBufferPointer<UInt8>) throws -> String? {
        let size = bytes.count
        guard size >= 4, Array(bytes[0..<4]) == Self.magic else { return nil }
        var start = 0, last = 0
        while start < size {
            let length = ZSTD_findFrameCompressedSize(bytes.baseAddress! + start, size - start)
            guard ZSTD_isError(length) == 0, length > 0 else { return nil }
            last = start
            start += length
        }
        guard let dctx = ZSTD_createDCtx() else { throw ArchiveError(path: url.path, reason: "out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        var text: [UInt8] = []
        let outSize = ZSTD_DStreamOutSize()
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: outSize)
        defer { out.deallocate() }
        var input = ZSTD_inBuffer(src: bytes.baseAddress! + last, size: size - last, pos: 0)
        while true {
            var output = ZSTD_outBuffer(dst: out, size: outSize, pos: 0)
            let ret = ZSTD_decompressStream(dctx, &output, &input)
            guard ZSTD_isError(ret) == 0 else { return nil }
            text.append(contentsOf: UnsafeBufferPointer(start: out, count: output.pos))
            if ret == 0 { break }
            guard input.pos < input.size || output.pos == outSize else { return nil }
        }
        guard text.last == 0x0A else { return nil }
        var end = text.count - 1
        while end > 0 {
            var start = end
            while start > 0, text[start - 1] != 0x0A { start -= 1 }
            var trimmed = end
            while trimmed > start, text[trimmed - 1] == 0x0D || text[trimmed - 1] == 0x20 || text[trimmed - 1] == 0x09 { trimmed -= 1 }
            if trimmed > start { return String(decoding: text[start..<trimmed], as: UTF8.self) }
            end = start - 1
        }
        return nil
    }

    static func findMagic(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var i = start
        while i + 4 <= bytes.count {
            if bytes[i] == 0x28 && bytes[i + 1] == 0xB5 && bytes[i + 2] == 0x2F && bytes[i + 3] == 0xFD { return i }
            i += 1
        }
        return nil
    }
}

/// Splits a byte stream into lines across buffer boundaries.
struct LineSplitter {
    private var partial: [UInt8] = []
    private(set) var lineNumber = 0
    private(set) var lastLine: String?
    var atLineStart: Bool { partial.isEmpty }

    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (ArchiveLine) throws -> Void) throws {
        var start = 0
        for i in 0..<chunk.count where chunk[i] == 0x0A {
            if partial.isEmpty {
                try emit(UnsafeBufferPointer(rebasing: chunk[start..<i]), body)
            } else {
                partial.append(contentsOf: chunk[start..<i])
                let line = partial
                partial.removeAll(keepingCapacity: true)
                try line.withUnsafeBufferPointer { try emit($0, body) }
            }
            start = i + 1
        }
        if start < chunk.count { partial.append(contentsOf: chunk[start..<chunk.count]) }
    }

    /// A last line without a newline (files from other tools) still counts.
    mutating func finish(_ body: (ArchiveLine) throws -> Void) throws {
        guard !partial.isEmpty else { return }
        let line = partial
        partial.removeAll()
        try line.withUnsafeBufferPointer { try emit($0, body) }
    }

    mutating func dropPartial() {
        if !partial.isEmpty { lineNumber += 1 }
        partial.removeAll()
    }

    private mutating func emit(_ raw: UnsafeBufferPointer<UInt8>, _ body: (ArchiveLine) throws -> Void) throws {
        lineNumber += 1
        var end = raw.count
        while end > 0, raw[end - 1] == 0x0D || raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        guard end > 0 else { return }
        let text = String(decoding: UnsafeBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
        lastLine = text
        try body(ArchiveLine(lineNumber: lineNumber, text: text))
    }
}
