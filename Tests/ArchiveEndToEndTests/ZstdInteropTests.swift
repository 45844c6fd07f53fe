import Foundation
import NostrCore
import Testing

@testable import Archive
@testable import ArchiveTests

/// Archives read and written by the zstd command-line tool (a child process), with ArchiveTests'
/// folder and helpers.
@Suite final class ZstdInteropTests {
    let archive: ArchiveTests

    init() throws { archive = try ArchiveTests() }

    func zstdCLI(_ args: [String], input: Data? = nil) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["zstd"] + args
        let outPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }

    @Test func roundTripKeepsEveryByteAndZstdCLIReadsIt() throws {
        let evs = try archive.events(2_500)
        let w = try ArchiveWriter(configuration: ArchiveConfiguration(directory: archive.dir))
        for e in evs { try w.append(e) }
        try w.close()
        let files = try archive.segments()
        #expect(files.count == 1)
        #expect(files[0].lastPathComponent.hasSuffix(".jsonl.zst"))
        #expect(try archive.lines(files[0]) == evs.map(\.rawJSON))
        // Standard tools read it: several frames concatenated are one zstd stream.
        let text = String(decoding: try zstdCLI(["-dc", files[0].path]), as: UTF8.self)
        #expect(text == evs.map { $0.rawJSON + "\n" }.joined())
        let report = ArchiveVerifier.verify(files)[0]
        #expect(report.isClean && report.events == 2_500 && report.oldest == 1_700_000_000 && report.newest == 1_700_002_499)
    }

    @Test func readsPlainJSONLAndForeignZstd() throws {
        let evs = try archive.events(10)
        // strfry-style export: keys in another order, CRLF, no final newline.
        let reordered = evs.map { e in
            #"{"content":\#(JSONValue.string(e.content).serialized),"created_at":\#(e.createdAt),"id":"\#(e.id)","kind":1,"pubkey":"\#(e.pubkey)","sig":"\#(e.sig)","tags":[["t","\#(e.tags[0][1])"]]}"#
        }
        let plain = archive.dir.appendingPathComponent("export.jsonl")
        try reordered.joined(separator: "\r\n").write(to: plain, atomically: true, encoding: .utf8)
        #expect(try archive.lines(plain).count == 10)
        #expect(ArchiveVerifier.verify([plain])[0].events == 10)
        let zst = archive.dir.appendingPathComponent("export.jsonl.zst")
        _ = try zstdCLI(["-q", "-3", plain.path, "-o", zst.path])
        #expect(try archive.lines(zst) == reordered)
    }
}
