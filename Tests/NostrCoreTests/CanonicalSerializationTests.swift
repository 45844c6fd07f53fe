import Foundation
import Testing

@testable import NostrCore

/// NIP-01 serialization, checked against byte strings written from the spec.
@Suite struct CanonicalSerializationTests {
    func escaped(_ s: String) -> String {
        var out: [UInt8] = []
        CanonicalJSON.appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func shortEscapes() {
        #expect(escaped("a\"b") == #""a\"b""#)
        #expect(escaped("a\\b") == #""a\\b""#)
        #expect(escaped("\n\r\t\u{08}\u{0C}") == #""\n\r\t\b\f""#)
    }

    @Test func everyOtherControlCharacterIsLowercaseUnicodeEscape() {
        let short: Set<UInt8> = [0x08, 0x09, 0x0A, 0x0C, 0x0D]
        for b in UInt8(0)..<0x20 where !short.contains(b) {
            let expected = "\"\\u00" + String(format: "%02x", b) + "\""
            #expect(escaped(String(UnicodeScalar(b))) == expected, "byte \(b)")
        }
    }

    @Test func slashDelAndNonASCIIAreVerbatim() {
        #expect(escaped("https://a/b") == #""https://a/b""#)
        #expect(escaped("\u{7F}") == "\"\u{7F}\"")
        for s in ["🚀🔥", "مرحبا بالعالم", "日本語", "e\u{301}", "\u{2028}\u{2029}", "\u{FEFF}"] {
            #expect(escaped(s) == "\"\(s)\"")
        }
    }

    @Test func idPreimageLayout() {
        let pre = CanonicalJSON.idPreimage(
            pubkey: String(repeating: "a", count: 64), createdAt: 1_700_000_000, kind: 1,
            tags: [["e", "x"], ["p", "y", "wss://r/"]], content: "hi \"there\"\n")
        #expect(
            String(decoding: pre, as: UTF8.self)
                == #"[0,"\#(String(repeating: "a", count: 64))",1700000000,1,[["e","x"],["p","y","wss://r/"]],"hi \"there\"\n"]"#)
    }

    @Test func inputEscapesAreDecodedBeforeReserializing() throws {
        let key = SecretKey.generate()
        let signed = try key.sign(kind: 1, content: "é/\u{01}\u{1F}🚀", createdAt: 5)
        // The same event written with every character escaped differently must keep its id.
        let alt = signed.rawJSON.replacingOccurrences(of: "é/\\u0001\\u001f🚀", with: "\\u00e9\\/\\u0001\\u001F\\ud83d\\ude80")
        #expect(alt != signed.rawJSON)
        let parsed = try Event(json: alt)
        #expect(parsed.content == signed.content)
        #expect(parsed.verify() == .valid)
        #expect(parsed.rawJSON == alt, "the received text is kept as is")
    }

    @Test func loneSurrogatesBecomeReplacementCharacter() throws {
        // A lone surrogate cannot exist in a Swift String; it is read as U+FFFD,
        // so an event signed over the raw surrogate fails its id check instead of crashing.
        let v = try JSONValue.parse(#"["\ud800x","\udc00","\ud83d\u0041"]"#)
        #expect(v == .array([.string("\u{FFFD}x"), .string("\u{FFFD}"), .string("\u{FFFD}A")]))
    }
}
