import Testing

@testable import Negentropy

/// Encoding details checked against values from the reference implementations.
@Suite struct WireFormatTests {
    // Pairs from kotlin/src/test/kotlin/com/vitorpamplona/negentropy/message/VarIntTest.kt
    // (hoytech/negentropy), plus the 64-bit extremes.
    static let varints: [(UInt64, String)] = [
        (0, "00"), (1, "01"), (2, "02"), (127, "7f"), (128, "8100"), (255, "817f"),
        (256, "8200"), (65535, "83ff7f"), (65536, "848000"), (65537, "848001"),
        (UInt64(1) << 63, "81808080808080808000"),
        (UInt64.max, "81ffffffffffffffff7f"),
    ]

    @Test func varintEncoding() {
        for (value, hex) in Self.varints {
            #expect(NegentropyHex.encode(Varint.encode(value)) == hex, "encoding \(value)")
        }
    }

    @Test func varintDecoding() throws {
        for (value, hex) in Self.varints {
            var offset = 0
            let encoded = bytes(hex)
            #expect(try Varint.decode(encoded, at: &offset, what: "test") == value)
            #expect(offset == encoded.count)
        }
        // The reference decoder accepts redundant leading zero digits.
        var offset = 0
        #expect(try Varint.decode([0x80, 0x80, 0x01], at: &offset, what: "test") == 1)
    }

    @Test func varintRejectsTruncationAndOverflow() {
        for hex in ["", "80", "ff", "8180"] {
            var offset = 0
            #expect(throws: NegentropyError.self, "\(hex)") {
                try Varint.decode(bytes(hex), at: &offset, what: "test")
            }
        }
        // 2^64 needs 65 bits.
        var offset = 0
        #expect(throws: NegentropyError.self) {
            try Varint.decode(bytes("82808080808080808000"), at: &offset, what: "test")
        }
        offset = 0
        #expect(throws: NegentropyError.self) {
            try Varint.decode([UInt8](repeating: 0xFF, count: 11) + [0x7F], at: &offset, what: "test")
        }
    }

    @Test func hexRoundTripAndErrors() throws {
        #expect(NegentropyHex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(try NegentropyHex.decode("000FA5ff") == [0x00, 0x0f, 0xa5, 0xff])
        #expect(try NegentropyHex.decode("") == [])
        #expect(throws: NegentropyError.self) { try NegentropyHex.decode("abc") }
        #expect(throws: NegentropyError.self) { try NegentropyHex.decode("zz") }
        // The error names the first character that is not a digit, in either half of a byte.
        for (hex, offset) in [("0g", 1), ("g0", 0), ("00ff0 ", 5), ("00ff-0", 4)] {
            #expect(throws: NegentropyError(.invalidHex(reason: "not a hex digit", offset: offset))) { try NegentropyHex.decode(hex) }
        }
    }

    @Test func idParsingAndOrder() {
        let hex = "eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c"
        let parsed = NegentropyID(hex: hex.uppercased())
        #expect(parsed?.hex == hex)
        #expect(parsed?.description == hex)
        #expect(parsed.map { NegentropyID(bytes: $0.bytes) } == parsed)
        #expect(NegentropyID(hex: String(hex.dropLast())) == nil)
        #expect(NegentropyID(hex: hex + "0") == nil)
        #expect(NegentropyID(hex: String(hex.dropLast()) + "g") == nil)
        #expect(NegentropyID(bytes: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(NegentropyID(bytes: [UInt8](repeating: 1, count: 33)) == nil)

        // Lexical byte order, whichever word the difference is in.
        var low = [UInt8](repeating: 0, count: 32)
        var high = low
        for position in [0, 7, 8, 31] {
            low = [UInt8](repeating: 0x80, count: 32)
            high = low
            low[position] = 0x7f
            #expect(NegentropyID(bytes: low)! < NegentropyID(bytes: high)!)
        }
        #expect(MemoryLayout<NegentropyID>.size == 32)
        #expect(MemoryLayout<NegentropyItem>.stride == 40)
    }

    /// kotlin/src/test/kotlin/com/vitorpamplona/negentropy/message/MessageBuilderTest.kt
    @Test func boundEncodingMatchesReference() {
        var encoder = BoundEncoder()
        var out: [UInt8] = []
        encoder.append(Bound(timestamp: 1678011277, id: .zero, idLength: 0), to: &out)
        #expect(NegentropyHex.encode(out) == "86a091d70e00")
        out = []
        encoder.append(Bound(timestamp: 1678011278, id: .zero, idLength: 0), to: &out)
        #expect(NegentropyHex.encode(out) == "0200")

        encoder = BoundEncoder()
        out = []
        let item = NegentropyItem(
            timestamp: 1678011277, id: id("eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c"))
        encoder.append(Bound(item), to: &out)
        #expect(
            NegentropyHex.encode(out)
                == "86a091d70e20eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c")

        out = []
        encoder.append(.infinity, to: &out)
        #expect(out == [0, 0])
    }

    @Test func minimalBoundSeparatesNeighbours() {
        let a = NegentropyItem(timestamp: 5, id: id("abcd" + String(repeating: "00", count: 30)))
        let b = NegentropyItem(timestamp: 5, id: id("abce" + String(repeating: "00", count: 30)))
        let bound = Bound.minimal(between: a, and: b)
        #expect(bound.idLength == 2)
        #expect(bound.isAbove(a))
        #expect(!bound.isAbove(b))
        let c = NegentropyItem(timestamp: 6, id: a.id)
        #expect(Bound.minimal(between: b, and: c) == Bound(timestamp: 6, id: .zero, idLength: 0))
    }

    /// kotlin/src/test/kotlin/com/vitorpamplona/negentropy/fingerprint/FingerprintTest.kt
    @Test func fingerprintsMatchReference() {
        let storage = NegentropyStorage(items: [
            NegentropyItem(timestamp: 1678011277, id: id("eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c")),
            NegentropyItem(timestamp: 1678011278, id: id("39b916432333e069a4386917609215cc688eb99f06fed01aadc29b1b4b92d6f0")),
            NegentropyItem(timestamp: 1678011279, id: id("abc81d58ebe3b9a87100d47f58bf15e9b1cbf62d38623f11d0f0d17179f5f3ba")),
        ])
        #expect(NegentropyHex.encode(storage.fingerprint(from: 0, to: 1).bytes) == "6d74e1212fcafc8a81d090f0ffbde8b0")
        #expect(NegentropyHex.encode(storage.fingerprint(from: 0, to: 2).bytes) == "96b26d110825d4b1805fc56988a3e65d")
        #expect(NegentropyHex.encode(storage.fingerprint(from: 0, to: 3).bytes) == "c15ce60f185fd24ae341076caa93daa5")
    }

    /// The sum is over little-endian numbers, so a carry runs from byte 0 up.
    @Test func idSumCarriesAcrossAllWords() {
        var sum = IDSum.zero
        sum.add(id(String(repeating: "ff", count: 32)))
        sum.add(id("01" + String(repeating: "00", count: 31)))
        #expect(sum == .zero)

        sum = .zero
        sum.add(id("ff" + String(repeating: "00", count: 31)))
        sum.add(id("01" + String(repeating: "00", count: 31)))
        #expect(sum == IDSum(l0: 0x100, l1: 0, l2: 0, l3: 0))

        var difference = IDSum.zero
        difference.subtract(IDSum(l0: 1, l1: 0, l2: 0, l3: 0))
        #expect(difference == IDSum(l0: .max, l1: .max, l2: .max, l3: .max))
    }

    /// Range sums come from checkpoints; compare them with plain addition.
    @Test func checkpointedSumsMatchPlainSums() {
        var generator = SeededGenerator(seed: TestSeed.make("checkpointedSums"))
        let items = (0..<1_000).map { _ in
            NegentropyItem(timestamp: generator.next() % 50, id: .random(using: &generator))
        }
        let storage = NegentropyStorage(items: items)
        for _ in 0..<2_000 {
            let a = Int(generator.next() % UInt64(storage.count + 1))
            let b = Int(generator.next() % UInt64(storage.count + 1))
            let (lower, upper) = (min(a, b), max(a, b))
            var plain = IDSum.zero
            for index in lower..<upper { plain.add(storage.items[index].id) }
            #expect(storage.sum(from: lower, to: upper) == plain, "range \(lower)..<\(upper)")
        }
        #expect(storage.sum(from: 0, to: storage.count) == storage.sum(from: 0, to: storage.count))
    }

    @Test func storageSortsDeduplicatesAndDropsInfinity() {
        let a = NegentropyItem(timestamp: 2, id: id(String(repeating: "11", count: 32)))
        let b = NegentropyItem(timestamp: 1, id: id(String(repeating: "22", count: 32)))
        let c = NegentropyItem(timestamp: 2, id: id(String(repeating: "00", count: 32)))
        let reserved = NegentropyItem(timestamp: .max, id: a.id)
        let storage = NegentropyStorage(items: [a, b, a, c, reserved, b])
        #expect(storage.items == [b, c, a])
        #expect(storage.count == 3)
        #expect(NegentropyStorage(sortedItems: [b, c, a, reserved]).items == [b, c, a])
        #expect(NegentropyStorage(items: []).count == 0)
    }
}
