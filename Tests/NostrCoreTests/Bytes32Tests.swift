import NostrCore
import Testing

@Suite struct Bytes32Tests {
    @Test func sameIDSameKeyOtherIDOtherKeyAndOnlySixtyFourHexDigits() throws {
        let key = SecretKey.generate()
        let ids = try (0..<200).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000).id }
        let keys = ids.compactMap { Bytes32(hex: $0) }
        #expect(keys.count == ids.count)
        #expect(Set(keys).count == Set(ids).count)
        #expect(Bytes32(hex: ids[0]) == Bytes32(hex: ids[0].uppercased()))
        // Ids that differ only in their last digit, or only in their first, are different keys.
        let last = String(ids[0].dropLast()) + (ids[0].hasSuffix("0") ? "1" : "0")
        let first = (ids[0].hasPrefix("0") ? "1" : "0") + String(ids[0].dropFirst())
        #expect(Bytes32(hex: last) != Bytes32(hex: ids[0]))
        #expect(Bytes32(hex: first) != Bytes32(hex: ids[0]))
        #expect(Bytes32(hex: String(ids[0].dropLast())) == nil)
        #expect(Bytes32(hex: ids[0] + "0") == nil)
        #expect(Bytes32(hex: String(ids[0].dropLast()) + "g") == nil)
        #expect(Bytes32(hex: "") == nil)
    }

    @Test func hexRoundTripsLowercaseAndOrderIsTheIdsOrder() throws {
        let key = SecretKey.generate()
        let ids = try (0..<200).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000).id }
        let keys = ids.compactMap { Bytes32(hex: $0) }
        #expect(keys.map(\.hex) == ids)
        #expect(Bytes32(hex: ids[0].uppercased())?.hex == ids[0])
        #expect(keys.sorted().map(\.hex) == ids.sorted())
    }
}
