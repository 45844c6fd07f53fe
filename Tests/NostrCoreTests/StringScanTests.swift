import Foundation
import Testing

@testable import NostrCore

/// Strings are scanned eight bytes at a time (`JSONScanner.nextSpecial`): every special byte must
/// still be found wherever it falls in a word, and nothing else taken for one.
@Suite struct StringScanTests {
    /// The byte-at-a-time answer.
    func reference(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        while i < bytes.count, bytes[i] >= 0x20, bytes[i] != 0x22, bytes[i] != 0x5C { i += 1 }
        return i
    }

    @Test func findsEverySpecialByteAtEveryOffset() {
        let plain: [UInt8] = Array("abcdefghijklmnopq/é日🚀".utf8) + [0x7F, 0x80, 0xFF, 0x21, 0x23, 0x5B, 0x5D, 0xA2, 0xDC]
        for special: UInt8 in [0x00, 0x01, 0x0A, 0x1F, 0x22, 0x5C] {
            for at in 0..<plain.count {
                var bytes = plain
                bytes[at] = special
                for start in 0...at {
                    let found = bytes.withUnsafeBufferPointer { JSONScanner.nextSpecial(in: $0, from: start) }
                    #expect(found == reference(bytes, from: start), "byte \(special) at \(at) from \(start)")
                }
            }
        }
        #expect(plain.withUnsafeBufferPointer { JSONScanner.nextSpecial(in: $0, from: 0) } == plain.count)
    }

    @Test func stringsSurviveEscapingAndParsingAtEveryLength() throws {
        for n in 0..<40 {
            for insert in ["\"", "\\", "\n", "\u{01}", "/", "é", "🚀"] {
                let text = String(repeating: "x", count: n) + insert + String(repeating: "y", count: 40 - n)
                var out: [UInt8] = []
                CanonicalJSON.appendString(text, to: &out)
                let parsed = try out.withUnsafeBufferPointer { buf in
                    var scanner = JSONScanner(buf)
                    return try scanner.parseString()
                }
                #expect(parsed == text)
            }
        }
    }

    /// A key is matched in the bytes only when written plainly and whole; anything else is left
    /// for `parseString`, which reads escapes, so an escaped key still means the same key.
    @Test func aPlainKnownStringIsMatchedAndAnyOtherIsLeftWhereItWas() throws {
        let names: [StaticString] = ["id", "pubkey", "kind"]
        func match(_ json: String) -> (Int?, Int) {
            Array(json.utf8).withUnsafeBufferPointer { buf in
                var scanner = JSONScanner(buf)
                let found = scanner.matchString(names)
                return (found, scanner.index)
            }
        }
        #expect(match(#""pubkey":1"#) == (1, 8))
        #expect(match(#"  "kind""#) == (2, 8))
        for other in [#""pubke":1"#, #""pubkeys":1"#, #""pub\u006bey":1"#, #""id"#, #""Kind""#, #"1"#, ""] {
            #expect(match(other) == (nil, 0), "\(other)")
        }
        let event = try SecretKey.generate().sign(kind: 1, content: "keys", createdAt: 1_700_000_000)
        let escapedKey = event.rawJSON.replacingOccurrences(of: #""pubkey":"#, with: #""pub\u006bey":"#)
        #expect(escapedKey != event.rawJSON)
        #expect(try Event(json: escapedKey).pubkey == event.pubkey)
    }
}
