import CZstd
import Foundation
import NostrCore

/// Appends event lines to zstd segments. Each flush ends a zstd frame and
/// fdatasyncs, so a segment cut off by `kill -9` or a full disk is readable
/// up to its last complete frame. The open segment is named `.part` until it
/// is sealed (fsynced, renamed, directory fsynced). Opening a writer recovers
/// any `.part` left by a crash: its torn tail is cut off and it is sealed.
/// Single owner: keep it inside one task or actor.
public final class ArchiveWriter {
    public let configuration: ArchiveConfiguration
    let now: @Sendable () -> Date
    /// The event on the last complete line in the archive, after recovery or appends.
    public private(set) var lastEvent: ArchivedEventKey?
    public private(set) var currentSegment: URL?

    private var fd: Int32 = -1
    private var segment: SegmentName?
    private var openedAt = Date()
    private var segmentBytes = 0
    private var linesInFrame = 0
    private var bytesInFrame = 0
    private var nextSequence = 1
    private let cctx: OpaquePointer
    private var out: [UInt8]
    /// Lines appended but not yet handed to zstd (at most about `stageLimit` bytes).
    private var staged: [UInt8] = []
    static let stageLimit = 64 * 1024

    public init(configuration: ArchiveConfiguration, now: @escaping @Sendable () -> Date = Date.init) throws {
        self.configuration = configuration
        self.now = now
        guard let cctx = ZSTD_createCCtx() else { throw ArchiveError(path: configuration.directory.path, reason: "out of memory") }
        self.cctx = cctx
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(configuration.compressionLevel))
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try FileManager.default.createDirectory(at: configuration.directory, withIntermediateDirectories: true)
        try recover()
    }

    deinit {
        if fd >= 0 { Foundation.close(fd) }
        ZSTD_freeCCtx(cctx)
    }

    private func path(_ name: String) -> String { configuration.directory.appendingPathComponent(name).path }

    /// Seals `.part` segments a crash left behind (cut back to their last
    /// complete frame) and finds the archive's last event.
    private func recover() throws {
        let names = try ownSegments()
        nextSequence = (names.map(\.sequence).max() ?? 0) + 1
        for name in names where name.isOpen {
            let reader = ArchiveReader(url: URL(fileURLWithPath: path(name.openName)))
            try reader.forEachLine { _ in }
            if reader.cleanEnd == 0 {
                unlink(path(name.openName))
                continue
            }
            guard truncate(path(name.openName), off_t(reader.cleanEnd)) == 0 else {
                throw ArchiveError(path: path(name.openName), reason: "cannot truncate torn tail: \(String(cString: strerror(errno)))")
            }
            try Self.syncFile(path(name.openName))
            try seal(name)
        }
        let sealed = try ownSegments().filter { !$0.isOpen }
        for name in sealed.reversed() {
            let reader = ArchiveReader(url: URL(fileURLWithPath: path(name.sealedName)))
            // A sealed segment ends with a whole frame: its last line is read from that frame.
            if let line = try reader.lastLineOfLastFrame() {
                lastEvent = Self.key(of: line)
                break
            }
            try reader.forEachLine { _ in }
            if let line = reader.lastCleanLine {
                lastEvent = Self.key(of: line)
                break
            }
        }
    }

    /// This writer's segments in the folder, oldest first: another agent's are never touched.
    private func ownSegments() throws -> [SegmentName] {
        let tag = configuration.agentID.map(SegmentName.agentTag)
        return try FileManager.default.contentsOfDirectory(atPath: configuration.directory.path).compactMap(SegmentName.init(fileName:)).filter {
            $0.agent == tag
        }.sorted()
    }

    static func key(of line: String) -> ArchivedEventKey? {
        if let e = try? Event(json: line) { return ArchivedEventKey(id: e.id, createdAt: e.createdAt) }
        guard let object = try? JSONValue.parse(line), let id = object["id"]?.stringValue,
            let createdAt = object["created_at"]?.intValue
        else { return nil }
        return ArchivedEventKey(id: id, createdAt: createdAt)
    }

    public func append(_ event: Event) throws {
        try append(rawLine: event.rawJSON, key: ArchivedEventKey(id: event.id, createdAt: event.createdAt))
    }

    public func append(rawLine: String, key: ArchivedEventKey) throws {
        var line = rawLine
        try line.withUTF8 { try appendLine($0) }
        lastEvent = key
    }

    /// Appends a line already held as UTF-8 (the ledger's text, read as bytes), archived as
    /// `append(rawLine:key:)` would, but leaves `lastEvent` alone: a caller appending a run of
    /// lines names the last of them with `markLastEvent(_:)`, making one key instead of one a line.
    public func append(rawLine: UnsafeBufferPointer<UInt8>) throws {
        try appendLine(rawLine)
    }

    /// The event on the line appended last, after a run of `append(rawLine:)` calls.
    public func markLastEvent(_ key: ArchivedEventKey) {
        lastEvent = key
    }

    private func appendLine(_ line: UnsafeBufferPointer<UInt8>) throws {
        if fd < 0 { try openSegment() }
        // Lines gather in `staged` and reach zstd in blocks: a copy of each line to add its
        // newline, and a zstd call per line, cost more than the copy into this buffer.
        staged.append(contentsOf: line)
        staged.append(UInt8(ascii: "\n"))
        let count = line.count + 1
        if staged.count >= Self.stageLimit { try compressStaged(ZSTD_e_continue) }
        linesInFrame += 1
        bytesInFrame += count
        segmentBytes += count
        if linesInFrame >= configuration.flushEveryLines || bytesInFrame >= configuration.flushEveryBytes {
            try endFrame()
        }
    }

    /// Ends the current frame and makes it durable; seals the segment if it is due.
    public func flush() throws {
        guard fd >= 0 else { return }
        if linesInFrame > 0 { try endFrame() }
        guard fdatasync(fd) == 0 else { throw ioError("fdatasync") }
        if segmentBytes >= configuration.rotateBytes || now().timeIntervalSince(openedAt) >= configuration.rotateAge.seconds {
            try sealCurrent()
        }
    }

    /// Seals the open segment if it has grown too old while idle.
    public func rotateIfDue() throws {
        if fd >= 0, now().timeIntervalSince(openedAt) >= configuration.rotateAge.seconds { try flush() }
    }

    /// Flushes and seals; the writer may be used again afterwards.
    public func close() throws {
        try flush()
        if fd >= 0 { try sealCurrent() }
    }

    private func openSegment() throws {
        let name = SegmentName(date: now(), sequence: nextSequence, agent: configuration.agentID.map(SegmentName.agentTag))
        nextSequence += 1
        let p = path(name.openName)
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError(path: p, reason: "cannot create: \(String(cString: strerror(errno)))") }
        segment = name
        currentSegment = URL(fileURLWithPath: p)
        openedAt = now()
        segmentBytes = 0
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)
    }

    private func endFrame() throws {
        try compressStaged(ZSTD_e_end)
        linesInFrame = 0
        bytesInFrame = 0
    }

    private func compressStaged(_ mode: ZSTD_EndDirective) throws {
        try staged.withUnsafeBufferPointer { try compress($0, mode) }
        staged.removeAll(keepingCapacity: true)
    }

    private func compress(_ data: UnsafeBufferPointer<UInt8>, _ mode: ZSTD_EndDirective) throws {
        var input = ZSTD_inBuffer(src: data.baseAddress, size: data.count, pos: 0)
        var remaining = 1
        while input.pos < input.size || (mode == ZSTD_e_end && remaining != 0) {
            let produced: Int = try out.withUnsafeMutableBufferPointer { buf in
                var output = ZSTD_outBuffer(dst: buf.baseAddress, size: buf.count, pos: 0)
                remaining = ZSTD_compressStream2(cctx, &output, &input, mode)
                if ZSTD_isError(remaining) != 0 {
                    throw ArchiveError(path: currentSegment?.path ?? "", reason: "zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
                }
                return output.pos
            }
            if produced > 0 { try writeAll(produced) }
            if mode != ZSTD_e_end && input.pos >= input.size { break }
        }
    }

    private func writeAll(_ count: Int) throws {
        try out.withUnsafeBytes { buf in
            var written = 0
            while written < count {
                let n = write(fd, buf.baseAddress! + written, count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioError("write")
                }
                written += n
            }
        }
    }

    private func sealCurrent() throws {
        guard let name = segment else { return }
        guard fsync(fd) == 0 else { throw ioError("fsync") }
        Foundation.close(fd)
        fd = -1
        segment = nil
        currentSegment = nil
        try seal(name)
    }

    private func seal(_ name: SegmentName) throws {
        guard rename(path(name.openName), path(name.sealedName)) == 0 else {
            throw ArchiveError(path: path(name.openName), reason: "cannot seal: \(String(cString: strerror(errno)))")
        }
        try Self.syncFile(configuration.directory.path)
    }

    static func syncFile(_ p: String) throws {
        let d = open(p, O_RDONLY | O_CLOEXEC)
        guard d >= 0 else { throw ArchiveError(path: p, reason: "cannot open for fsync") }
        defer { Foundation.close(d) }
        guard fsync(d) == 0 else { throw ArchiveError(path: p, reason: "fsync failed: \(String(cString: strerror(errno)))") }
    }

    private func ioError(_ what: String) -> ArchiveError {
        ArchiveError(path: currentSegment?.path ?? configuration.directory.path, reason: "\(what) failed: \(String(cString: strerror(errno)))")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
