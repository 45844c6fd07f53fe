import Foundation
import Media
import NostrCore
import Testing

@Suite struct BlobReferenceTests {
    let key = SecretKey.generate()
    let h1 = String(repeating: "ab", count: 32)
    let h2 = String(repeating: "cd", count: 32)
    let h3 = String(repeating: "0f", count: 32)

    func event(kind: Int = 1, content: String = "", tags: [[String]] = []) throws -> Event {
        try key.sign(kind: kind, content: content, tags: tags, createdAt: 1_700_000_000)
    }

    @Test func imetaGivesURLHashSizeAndType() throws {
        let e = try event(tags: [["imeta", "url https://cdn.example/pic.jpg", "x \(h1)", "m image/jpeg", "size 1234", "dim 10x10"]])
        let refs = BlobReferenceExtractor.references(in: e)
        #expect(refs == [BlobReference(hash: BlobHash(h1)!, url: "https://cdn.example/pic.jpg", size: 1234, type: "image/jpeg")])
    }

    @Test func imetaWithoutXTakesTheHashFromTheURL() throws {
        let e = try event(tags: [["imeta", "url https://blossom.example/\(h2).png"]])
        #expect(BlobReferenceExtractor.references(in: e).map(\.hash.hex) == [h2])
    }

    @Test func imetaWithNeitherHashNorBlossomURLIsNoReference() throws {
        let e = try event(tags: [["imeta", "url https://cdn.example/pic.jpg", "m image/jpeg"]])
        #expect(BlobReferenceExtractor.references(in: e).isEmpty)
    }

    @Test func nip94FileMetadata() throws {
        let e = try event(kind: 1063, tags: [["url", "https://files.example/a"], ["x", h3], ["m", "video/mp4"], ["size", "99"], ["ox", h1]])
        #expect(BlobReferenceExtractor.references(in: e) == [BlobReference(hash: BlobHash(h3)!, url: "https://files.example/a", size: 99, type: "video/mp4")])
    }

    @Test func urlsInContentWithHashAsLastSegment() throws {
        let e = try event(content: "look (https://b.example/\(h1).jpg), and http://c.example/x/\(h2). Not https://d.example/\(h3)/more nor ftp://e/\(h1)")
        let refs = BlobReferenceExtractor.references(in: e)
        #expect(refs.map(\.url) == ["https://b.example/\(h1).jpg", "http://c.example/x/\(h2)"])
    }

    @Test func urlsInOtherTags() throws {
        let e = try event(tags: [["r", "https://b.example/\(h1)"], ["e", h2]])
        #expect(BlobReferenceExtractor.references(in: e).map(\.hash.hex) == [h1])
    }

    @Test func theSameBlobTwiceIsOneReferencePerURL() throws {
        let e = try event(content: "https://b.example/\(h1).jpg", tags: [["imeta", "url https://b.example/\(h1).jpg", "x \(h1)", "m image/jpeg"]])
        let refs = BlobReferenceExtractor.references(in: e)
        #expect(refs.count == 1)
        #expect(refs.first?.type == "image/jpeg")
    }

    @Test func referencesPerEventAreBounded() throws {
        var content = ""
        for i in 0..<200 { content += " https://b.example/\(String(format: "%064x", i))" }
        let e = try event(content: content)
        #expect(BlobReferenceExtractor.references(in: e).count == BlobReferenceExtractor.maxPerEvent)
    }

    @Test func serverListKeepsHTTPServersInOrder() throws {
        let e = try event(
            kind: 10063,
            tags: [["server", "https://one.example/"], ["server", "ftp://nope"], ["server", "http://two.example"], ["server", "https://one.example"]])
        #expect(BlobReferenceExtractor.serverList(in: e) == ["https://one.example", "http://two.example"])
    }

    @Test func hashInURLNeedsSixtyFourHex() {
        #expect(BlobReferenceExtractor.hashInURL("https://x.example/\(h1).webp")?.hex == h1)
        #expect(BlobReferenceExtractor.hashInURL("https://x.example/\(h1.dropLast())") == nil)
        #expect(BlobReferenceExtractor.hashInURL("https://x.example/?q=\(h1)") == nil)
    }
}
