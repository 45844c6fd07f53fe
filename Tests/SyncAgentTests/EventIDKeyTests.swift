import NostrCore
import Testing

@testable import SyncAgent

@Suite struct EventIDKeyTests {
    @Test func sameIDSameKeyOtherIDOtherKeyAndOnlySixtyFourHexDigits() throws {
        let key = SecretKey.generate()
        let ids = try (0..<200).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000).id }
        let keys = ids.compactMap(EventIDKey.init)
        #expect(keys.count == ids.count)
        #expect(Set(keys).count == Set(ids).count)
        #expect(EventIDKey(ids[0]) == EventIDKey(ids[0].uppercased()))
        // Ids that differ only in their last digit, or only in their first, are different keys.
        let last = String(ids[0].dropLast()) + (ids[0].hasSuffix("0") ? "1" : "0")
        let first = (ids[0].hasPrefix("0") ? "1" : "0") + String(ids[0].dropFirst())
        #expect(EventIDKey(last) != EventIDKey(ids[0]))
        #expect(EventIDKey(first) != EventIDKey(ids[0]))
        #expect(EventIDKey(String(ids[0].dropLast())) == nil)
        #expect(EventIDKey(ids[0] + "0") == nil)
        #expect(EventIDKey(String(ids[0].dropLast()) + "g") == nil)
        #expect(EventIDKey("") == nil)
    }
}
