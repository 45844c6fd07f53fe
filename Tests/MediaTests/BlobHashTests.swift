import Media
import Testing

@Suite struct BlobHashTests {
    @Test func acceptsSixtyFourHexOnly() {
        #expect(BlobHash(String(repeating: "A", count: 64))?.hex == String(repeating: "a", count: 64))
        #expect(BlobHash(String(repeating: "a", count: 63)) == nil)
        #expect(BlobHash(String(repeating: "g", count: 64)) == nil)
    }
}
