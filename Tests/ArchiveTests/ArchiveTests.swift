import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import Archive

final class TestClock: @unchecked Sendable {
    var date = Date(timeIntervalSince1970: 1_764_000_000)
}

@Suite final class ArchiveTests {
    let dir: URL
    let key = SecretKey.generate()

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func events(_ n: Int, from start: Int = 0) throws -> [Event] {
        try (start..<(start + n)).map { i in
            try key.sign(
                kind: 1, content: "archived note \(i): \"quotes\", back\\slash, tab\t, emoji 🚀, مرحبا", tags: [["t", "x\(i % 7)"]],
                createdAt: 1_700_000_000 + Int64(i))
        }
    }

    func lines(_ url: URL) throws -> [String] {
        var out: [String] = []
        try ArchiveReader(url: url).forEachLine { out.append($0.text) }
        return out
    }

    func segments() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.appendingPathComponent($0) }
    }

    @Test func linesAppendedAsBytesArchiveAsTheirText() throws {
        var config = ArchiveConfiguration(directory: dir)
        config.flushEveryLines = 2
        let all = try events(5)
        let w = try ArchiveWriter(configuration: config)
        for e in all {
            try Array(e.rawJSON.utf8).withUnsafeBufferPointer { try w.append(rawLine: $0) }
        }
        #expect(w.lastEvent == nil, "the caller names the last event")
        let last = ArchivedEventKey(id: all[4].id, createdAt: all[4].createdAt)
        w.markLastEvent(last)
        #expect(w.lastEvent == last)
        try w.close()
        #expect(try segments().flatMap { try lines($0) } == all.map(\.rawJSON))
        #expect(try ArchiveWriter(configuration: config).lastEvent == last)
    }

    @Test func truncatedSegmentKeepsEverythingBeforeTheCut() throws {
        var config = ArchiveConfiguration(directory: dir)
        config.flushEveryLines = 100
        let w = try ArchiveWriter(configuration: config)
        for e in try events(1_000) { try w.append(e) }
        try w.close()
        let file = try segments()[0]
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as! Int
        truncate(file.path, off_t(size - size / 20))
        let report = ArchiveVerifier.verify([file])[0]
        #expect(!report.isClean)
        #expect(report.problems.count == 1)
        #expect(report.problems[0].reason.contains("truncated"))
        #expect(report.problems[0].frame == 9)
        #expect(report.events >= 900 && report.events < 1_000)
        #expect(report.invalidCount == 0)
    }

    @Test func flippedByteMidFrameIsReportedAndLaterFramesSurvive() throws {
        var config = ArchiveConfiguration(directory: dir)
        config.flushEveryLines = 100
        let w = try ArchiveWriter(configuration: config)
        for e in try events(1_000) { try w.append(e) }
        try w.close()
        let file = try segments()[0]
        var data = try Data(contentsOf: file)
        // Inside the compressed payload of the sixth frame, well past its header: a flip at a
        // random offset could hit a header byte, which is a different failure.
        let starts = ZstdFrames.starts(in: data)
        try #require(starts.count == 10)
        data[starts[5] + (starts[6] - starts[5]) / 2] ^= 0x55
        try data.write(to: file)
        let report = ArchiveVerifier.verify([file])[0]
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.reason.contains("corrupt frame") })
        // Only the damaged frame is lost (lines from it that decoded but fail checks are counted invalid).
        #expect(report.events + report.invalidCount >= 800)
        #expect(report.events >= 800)
    }

    @Test func badLinesAreReportedByNumber() throws {
        let evs = try events(5)
        var forged = evs[2].rawJSON
        forged = forged.replacingOccurrences(of: evs[2].sig, with: String(evs[2].sig.reversed()))
        let body = [evs[0].rawJSON, evs[1].rawJSON, forged, "this is not json", evs[3].rawJSON, evs[3].rawJSON, evs[4].rawJSON].joined(separator: "\n") + "\n"
        let plain = dir.appendingPathComponent("mixed.jsonl")
        try body.write(to: plain, atomically: true, encoding: .utf8)
        let report = ArchiveVerifier.verify([plain])[0]
        #expect(report.events == 4)
        #expect(report.invalidLines.map(\.line) == [3, 4])
        #expect(report.invalidLines[0].reason.contains("signature"))
        #expect(report.duplicateIDs == 1)
        let empty = dir.appendingPathComponent("empty.jsonl.zst")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        let emptyReport = ArchiveVerifier.verify([empty])[0]
        #expect(emptyReport.problems.map(\.reason) == ["empty file"])
    }

    @Test func tornPartIsRecoveredWithoutLossOrDuplication() throws {
        var config = ArchiveConfiguration(directory: dir)
        config.flushEveryLines = 50
        let evs = try events(300)
        do {
            let w = try ArchiveWriter(configuration: config)
            for e in evs.prefix(250) { try w.append(e) }
            try w.flush()
            // Simulate kill -9: no close, and a torn half-frame at the end.
        }
        let part = try segments().first { $0.lastPathComponent.hasSuffix(".part") }!
        let h = try FileHandle(forWritingTo: part)
        try h.seekToEnd()
        try h.write(contentsOf: Data([0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58, 0x11, 0x22, 0x33]))
        try h.close()
        let w = try ArchiveWriter(configuration: config)
        #expect(w.lastEvent == ArchivedEventKey(id: evs[249].id, createdAt: evs[249].createdAt))
        for e in evs.suffix(50) { try w.append(e) }
        try w.close()
        let files = try segments()
        #expect(files.allSatisfy { $0.lastPathComponent.hasSuffix(".jsonl.zst") })
        let all = try files.flatMap { try lines($0) }
        #expect(all == evs.map(\.rawJSON))
        #expect(ArchiveVerifier.verify(files).allSatisfy { $0.isClean })
    }

    /// A writer finds where the archive ends from the last sealed segment's last frame alone: the
    /// same line a whole read ends on, and nothing from a file that is no zstd of whole frames.
    @Test func theLastLineIsReadFromTheLastFrame() throws {
        var config = ArchiveConfiguration(directory: dir)
        config.flushEveryLines = 64
        let evs = try events(300)
        let w = try ArchiveWriter(configuration: config)
        for e in evs { try w.append(e) }
        try w.close()
        let file = try segments()[0]
        let reader = ArchiveReader(url: file)
        try reader.forEachLine { _ in }
        #expect(try reader.lastLineOfLastFrame() == evs.last?.rawJSON)
        #expect(reader.lastCleanLine == evs.last?.rawJSON)
        #expect(try ArchiveWriter(configuration: config).lastEvent == ArchivedEventKey(id: evs[299].id, createdAt: evs[299].createdAt))

        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as! Int
        truncate(file.path, off_t(size - 3))
        #expect(try ArchiveReader(url: file).lastLineOfLastFrame() == nil, "a frame cut short")
        let plain = dir.appendingPathComponent("plain.jsonl")
        try Data((evs[0].rawJSON + "\n").utf8).write(to: plain)
        #expect(try ArchiveReader(url: plain).lastLineOfLastFrame() == nil, "not zstd")
    }

    @Test func rotatesBySizeAndAge() throws {
        let clock = TestClock()
        var config = ArchiveConfiguration(directory: dir)
        config.rotateBytes = 100_000
        config.flushEveryLines = 10
        let w = try ArchiveWriter(configuration: config, now: { clock.date })
        for e in try events(1_000) {
            try w.append(e)
            try w.flush()
        }
        let bySize = try segments().count
        #expect(bySize >= 3)
        try w.append(try events(1, from: 5_000)[0])
        try w.flush()
        #expect(try segments().contains { $0.lastPathComponent.hasSuffix(".part") })
        clock.date += 86_401
        try w.rotateIfDue()
        // The idle, day-old segment was sealed; the next line starts a new one.
        #expect(try segments().count == bySize)
        #expect(try !segments().contains { $0.lastPathComponent.hasSuffix(".part") })
        #expect(try segments().allSatisfy { $0.lastPathComponent.hasSuffix(".jsonl.zst") })
        let infos = try ArchiveCatalog.segments(in: dir)
        #expect(infos.map(\.events).reduce(0, +) == 1_001)
        #expect(infos.map(\.name) == infos.map(\.name).sorted())
        #expect(infos.allSatisfy { $0.sealed && $0.ratio > 1 })
    }
}
