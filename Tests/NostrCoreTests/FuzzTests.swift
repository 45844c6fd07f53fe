import Foundation
import PeerHarness
import Testing

@testable import NostrCore

/// Random and mutated frames: every input ends in a value or a typed error,
/// never a crash or a hang.
@Suite struct FuzzTests {
    @Test func mutatedFramesNeverCrash() throws {
        let key = SecretKey.generate()
        let e = try key.sign(kind: 1, content: "fuzz \"me\" \\ 🚀", tags: [["e", "x"], ["p", "y"]], createdAt: 1)
        let seeds = [
            #"["EVENT","sub",\#(e.rawJSON)]"#, #"["OK","\#(e.id)",true,"duplicate: x"]"#, #"["EOSE","sub"]"#,
            #"["CLOSED","s","auth-required: x"]"#, #"["COUNT","c",{"count":3}]"#, ##"["REQ","s",{"kinds":[1],"#e":["a"]}]"##,
        ]
        let alphabet = Array(#"[]{}",:\0123456789abcdefEVNTOKtruefalsenull -.eE\u"#.utf8)
        var rng = SeededGenerator(seed: 42)
        var decoded = 0, rejected = 0
        for i in 0..<30_000 {
            var bytes = Array(seeds[i % seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = alphabet.randomElement(using: &rng)!
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                default: bytes = Array(bytes.prefix(at))
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if (try? RelayMessage.decode(text)) != nil { decoded += 1 } else { rejected += 1 }
            _ = try? ClientMessage.decode(text)
            _ = try? Event(json: text)
        }
        #expect(decoded + rejected == 30_000)
        #expect(decoded > 0 && rejected > 0)
    }

    @Test func randomBytesAndDeepNesting() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<5_000 {
            let n = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? RelayMessage.decode(String(decoding: bytes, as: UTF8.self))
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try RelayMessage.decode(deep) }
        #expect(throws: (any Error).self) { try JSONValue.parse(deep) }
        #expect(throws: (any Error).self) { try RelayMessage.decode(#"["EVENT","s",{"tags":"# + String(repeating: "[", count: 10_000)) }
    }
}
