import Foundation
import Testing

@testable import NostrCore

@Suite struct FilterAndMessageTests {
    let key = SecretKey.generate()

    @Test func filterJSONRoundTrip() throws {
        let f = Filter(ids: ["a"], authors: ["b", "c"], kinds: [1, 30023], tags: ["e": ["x"], "p": ["y", "z"]], since: 10, until: 20, limit: 5)
        #expect(f.json.serialized == ##"{"ids":["a"],"authors":["b","c"],"kinds":[1,30023],"#e":["x"],"#p":["y","z"],"since":10,"until":20,"limit":5}"##)
        #expect(try Filter(json: f.json.serialized) == f)
        #expect(throws: FilterError.self) { try Filter(json: #"{"kinds":["1"]}"#) }
        #expect(throws: FilterError.self) { try Filter(json: #"{"since":-5}"#) }
        #expect(try Filter(json: ##"{"search":"x","#e":["1"]}"##).tags == ["e": ["1"]])
    }

    @Test func matchingFollowsNIP01() throws {
        let e = try key.sign(kind: 1, content: "", tags: [["e", "root"], ["p", "someone"], ["t"]], createdAt: 100)
        #expect(Filter().matches(e))
        #expect(Filter(ids: [e.id]).matches(e) && !Filter(ids: ["zz"]).matches(e))
        #expect(Filter(authors: [key.publicKey]).matches(e) && !Filter(authors: []).matches(e))
        #expect(Filter(kinds: [0, 1]).matches(e) && !Filter(kinds: [7]).matches(e))
        #expect(Filter(since: 100, until: 100).matches(e), "since and until are inclusive")
        #expect(!Filter(since: 101).matches(e) && !Filter(until: 99).matches(e))
        #expect(Filter(tags: ["e": ["root", "other"]]).matches(e))
        #expect(!Filter(tags: ["e": ["someone"]]).matches(e), "tag values match by tag name")
        #expect(!Filter(tags: ["e": ["root"], "p": ["nobody"]]).matches(e), "all tag conditions must hold")
    }

    /// NIP-01 matching written out plainly over arrays, as the oracle for the prepared matcher.
    func oracle(_ f: Filter, _ e: Event) -> Bool {
        (f.ids.map { $0.contains(e.id) } ?? true) && (f.authors.map { $0.contains(e.pubkey) } ?? true)
            && (f.kinds.map { $0.contains(e.kind) } ?? true) && (f.since.map { e.createdAt >= $0 } ?? true)
            && (f.until.map { e.createdAt <= $0 } ?? true)
            && f.tags.allSatisfy { name, values in e.tags.contains { $0.count >= 2 && $0[0] == name && values.contains($0[1]) } }
    }

    @Test func preparedMatcherAgreesWithTheOracle() throws {
        let keys = (0..<3).map { _ in SecretKey.generate() }
        var events: [Event] = []
        for (i, k) in keys.enumerated() {
            for kind in [0, 1, 7] {
                events.append(
                    try k.sign(kind: kind, content: "\(i)", tags: [["e", "root"], ["p", keys[(i + 1) % 3].publicKey]], createdAt: Int64(100 + i * 10 + kind)))
            }
        }
        // Many authors, as a relay operator's config has: the prepared sets must still find the few real ones.
        let crowd = (0..<2_000).map { String(format: "%064x", $0) } + [keys[1].publicKey]
        let filters = [
            Filter(), Filter(ids: [events[2].id, events[5].id]), Filter(authors: keys.prefix(2).map(\.publicKey)), Filter(authors: []),
            Filter(kinds: [0, 7]), Filter(since: 110, until: 120), Filter(tags: ["p": [keys[0].publicKey]]),
            Filter(authors: [keys[2].publicKey], kinds: [1], since: 100), Filter(tags: ["e": ["root"], "p": ["nobody"]]),
            Filter(authors: crowd, kinds: [1, 7]),
        ]
        var hits = 0
        for e in events {
            for f in filters {
                #expect(FilterMatcher([f]).matches(e) == oracle(f, e), "\(f) on \(e.id)")
                if oracle(f, e) { hits += 1 }
            }
            #expect(FilterMatcher(Array(filters.suffix(3))).matches(e) == filters.suffix(3).contains { oracle($0, e) }, "any filter may match")
            #expect(!FilterMatcher([]).matches(e), "no filter matches nothing")
        }
        #expect(hits > 0 && hits < events.count * filters.count, "the cases must include both outcomes")
    }

    @Test func decodesEveryRelayMessage() throws {
        let e = try key.sign(kind: 1, content: "hi", createdAt: 1)
        #expect(try RelayMessage.decode(#"["EVENT","s1",\#(e.rawJSON)]"#) == .event(subscription: "s1", event: e))
        #expect(try RelayMessage.decode(#"["EOSE","s1"]"#) == .eose(subscription: "s1"))
        #expect(try RelayMessage.decode(#"["NOTICE","hello"]"#) == .notice("hello"))
        #expect(try RelayMessage.decode(#"["AUTH","challenge-1"]"#) == .auth(challenge: "challenge-1"))
        #expect(try RelayMessage.decode(#"["COUNT","c",{"count":42}]"#) == .count(subscription: "c", count: 42, approximate: false))
        #expect(try RelayMessage.decode(#"["NEG-MSG","n","6100"]"#) == .negMsg(subscription: "n", message: "6100"))
        #expect(try RelayMessage.decode(#"["NEG-ERR","n","blocked: too big"]"#) == .negErr(subscription: "n", reason: "blocked: too big"))
        // nostr-relay answers rejections with an empty id; some relays omit the message.
        guard case let .ok(id, accepted, reason) = try RelayMessage.decode(#"["OK","",false,"invalid: Bad signature"]"#) else { Issue.record("not OK"); return }
        #expect(id == "" && !accepted && reason.prefix == .invalid && reason.message == "Bad signature")
        guard case let .ok(_, ok3, r3) = try RelayMessage.decode(#"["OK","\#(e.id)",true]"#) else { Issue.record("not OK"); return }
        #expect(ok3 && r3.prefix == nil && r3.raw == "")
        guard case let .closed(_, closed) = try RelayMessage.decode(#"["CLOSED","s","auth-required: sign in"]"#) else { Issue.record("not CLOSED"); return }
        #expect(closed.prefix == .authRequired)
    }

    /// A frame read straight from its bytes decodes as its text does; a byte that is not UTF-8
    /// inside the event is repaired as the string is read, and the event then fails its id check.
    @Test func decodesFromBytesAndRepairsBadUTF8() throws {
        let e = try key.sign(kind: 1, content: "caf\u{e9} BAD?", createdAt: 1)
        var bytes = Array(#"["EVENT","s1",\#(e.rawJSON)]"#.utf8)
        let decoded = try bytes.withUnsafeBufferPointer { try RelayMessage.decode(utf8: $0) }
        guard case let .event(_, good) = decoded else {
            Issue.record("not an EVENT: \(decoded)"); return
        }
        #expect(decoded == .event(subscription: "s1", event: e))
        #expect(good.verify().isValid)
        let question = try #require(bytes.lastIndex(of: UInt8(ascii: "?")))
        bytes[question] = 0xFF
        guard case let .event(_, broken) = try bytes.withUnsafeBufferPointer({ try RelayMessage.decode(utf8: $0) }) else {
            Issue.record("still an EVENT"); return
        }
        #expect(broken.content == "caf\u{e9} BAD\u{FFFD}")
        #expect(!broken.verify().isValid)
    }

    @Test func reasonPrefixes() {
        for p in RelayReason.Prefix.allCases {
            #expect(RelayReason("\(p.rawValue): why").prefix == p)
        }
        #expect(RelayReason("duplicate: already have it").message == "already have it")
        #expect(RelayReason("no prefix here").prefix == nil)
        #expect(RelayReason("Weird: Capital").prefix == nil)
        #expect(RelayReason("custom-thing: x").prefixText == "custom-thing")
    }

    @Test func malformedFramesAreTypedErrors() {
        let cases: [String: (MessageDecodingError) -> Bool] = [
            "": { if case .notJSON = $0 { true } else { false } },
            "{}": { $0 == .notAnArray },
            "[1]": { $0 == .notAnArray },
            #"["WAT"]"#: { $0 == .unknownType("WAT") },
            #"["EOSE"]"#: { $0 == .missingElement("subscription id") },
            #"["EOSE","a","b"]"#: { $0 == .trailingElements },
            #"["OK","x","yes","m"]"#: { if case .badElement = $0 { true } else { false } },
            #"["EVENT","s",{"id":"x"}]"#: { if case .invalidEvent(subscription: "s", _) = $0 { true } else { false } },
        ]
        for (frame, check) in cases {
            do {
                _ = try RelayMessage.decode(frame)
                Issue.record("\(frame) decoded")
            } catch {
                #expect(check(error), "\(frame): \(error)")
            }
        }
    }

    @Test func clientMessagesRoundTrip() throws {
        let e = try key.sign(kind: 1, content: "a/b", createdAt: 1)
        let f = Filter(authors: [key.publicKey], kinds: [1], limit: 10)
        let messages: [ClientMessage] = [
            .event(e), .auth(e), .req(subscription: "s", filters: [f, Filter(since: 5)]), .close(subscription: "s"),
            .count(subscription: "c", filters: [f]), .negOpen(subscription: "n", filter: f, message: "61"),
            .negMsg(subscription: "n", message: "62"), .negClose(subscription: "n"),
        ]
        for m in messages {
            #expect(try ClientMessage.decode(m.encoded) == m, "\(m.encoded)")
        }
        #expect(ClientMessage.event(e).encoded == #"["EVENT",\#(e.rawJSON)]"#)
    }
}
