import Foundation
import NostrCore
import Testing

@testable import Archive

/// A cluster's agents archive to folders of their own (or share one): segment names carry the
/// agent's id, a writer touches only its own segments, and folders list merged.
@Suite final class ArchiveClusterTests {
    let base: URL
    let key = SecretKey.generate()

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-archive-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: base) }

    func notes(_ range: Range<Int>) throws -> [Event] {
        try range.map { try key.sign(kind: 1, content: "note \($0)", createdAt: 1_700_000_000 + Int64($0)) }
    }

    func writer(_ folder: URL, agent: String?) throws -> ArchiveWriter {
        var config = ArchiveConfiguration(directory: folder)
        config.agentID = agent
        return try ArchiveWriter(configuration: config)
    }

    func names(_ folder: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    @Test func segmentNamesCarryTheAgentAndWritersSharingAFolderLeaveEachOthersSegmentsAlone() throws {
        let shared = base.appendingPathComponent("shared")
        let a = try writer(shared, agent: "box-1:4242")
        for e in try notes(0..<10) { try a.append(e) }
        try a.flush()
        // B opens while A's segment is still open (.part): B must neither seal nor cut it.
        let b = try writer(shared, agent: "box-2:77")
        for e in try notes(10..<15) { try b.append(e) }
        try b.close()
        try a.close()
        let files = try names(shared)
        #expect(files.count == 2, "\(files)")
        #expect(files.contains { $0.hasSuffix("-000001-box-1-4242.jsonl.zst") }, "\(files)")
        #expect(files.contains { $0.hasSuffix("-000001-box-2-77.jsonl.zst") }, "\(files)")
        let infos = try ArchiveCatalog.segments(in: shared)
        #expect(Set(infos.map(\.agent)) == ["box-1-4242", "box-2-77"])
        #expect(infos.map(\.events).sorted() == [5, 10])
        // A single agent's names stay as they were.
        let single = base.appendingPathComponent("single")
        let s = try writer(single, agent: nil)
        try s.append(try notes(0..<1)[0])
        try s.close()
        #expect(try names(single).allSatisfy { $0.range(of: #"^events-\d{8}T\d{6}Z-000001\.jsonl\.zst$"#, options: .regularExpression) != nil })
        #expect(SegmentName(fileName: "events-20261206T120000Z-000001-a/b.jsonl.zst") == nil)
    }

    /// Two agents' folders that overlap by one segment (the archiving moved at a handover):
    /// listed together, the overlap counts once.
    @Test func twoFoldersOverlappingByOneSegmentListMergedWithDistinctEvents() throws {
        let first = base.appendingPathComponent("agent-a"), second = base.appendingPathComponent("agent-b")
        let a = try writer(first, agent: "a:1")
        for e in try notes(0..<20) { try a.append(e) }
        try a.close()
        let b = try writer(second, agent: "b:2")
        for e in try notes(20..<30) { try b.append(e) }
        try b.close()
        let overlap = try #require(try names(first).first)
        try FileManager.default.copyItem(at: first.appendingPathComponent(overlap), to: second.appendingPathComponent(overlap))
        let (segments, distinct) = try ArchiveCatalog.segments(in: [first, second])
        #expect(segments.count == 3)
        #expect(segments.map(\.events).reduce(0, +) == 50)
        #expect(distinct == 30)
        #expect(Set(segments.compactMap(\.folder)) == [first.path, second.path])
    }
}
