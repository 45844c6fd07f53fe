import Foundation
import Testing

@testable import NostrCore

@Suite struct EventTests {
    @Test func realEventsFromGoNostrVerify() throws {
        let lines = try Fixtures.text("go-nostr-events.jsonl").split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        for line in lines {
            let e = try Event(json: line)
            #expect(e.verify() == .valid, "\(e.id)")
            #expect(e.computedID == e.id)
            #expect(e.rawJSON == line)
        }
    }

    @Test func mutationsAreCaughtAndToldApart() throws {
        let line = try Fixtures.text("go-nostr-events.jsonl").split(separator: "\n").first.map(String.init)!
        let e = try Event(json: line)
        let edited = try Event(json: line.replacingOccurrences(of: "stop working", with: "keep working"))
        guard case .badID = edited.verify() else { Issue.record("content change must break the id"); return }
        var sig = Array(e.sig)
        sig[10] = sig[10] == "0" ? "1" : "0"
        let forged = try Event(json: line.replacingOccurrences(of: e.sig, with: String(sig)))
        #expect(forged.verify() == .badSignature)
        let otherKey = try Event(json: line.replacingOccurrences(of: e.pubkey, with: String(repeating: "1", count: 64)))
        guard case .badID = otherKey.verify() else { Issue.record("pubkey is part of the id"); return }
    }

    func parseError(_ json: String) -> EventParseError? {
        do { _ = try Event(json: json); return nil } catch { return error }
    }

    static let good =
        #"{"id":"\#(String(repeating: "a", count: 64))","pubkey":"\#(String(repeating: "b", count: 64))","created_at":1,"kind":1,"tags":[],"content":"","sig":"\#(String(repeating: "c", count: 128))"}"#

    @Test(arguments: [
        ("\"id\":\"" + String(repeating: "a", count: 64), "\"id\":\"" + String(repeating: "A", count: 64), "id"),
        ("\"id\":\"" + String(repeating: "a", count: 64), "\"id\":\"" + String(repeating: "a", count: 63), "id"),
        ("\"pubkey\":\"", "\"pubkey\":\"g", "pubkey"),
        ("\"sig\":\"" + String(repeating: "c", count: 128), "\"sig\":\"" + String(repeating: "c", count: 126), "sig"),
        ("\"created_at\":1", "\"created_at\":1.5", "created_at"),
        ("\"created_at\":1", "\"created_at\":-1", "created_at"),
        ("\"created_at\":1", "\"created_at\":\"1\"", "created_at"),
        ("\"kind\":1", "\"kind\":-1", "kind"),
        ("\"kind\":1", "\"kind\":65536", "kind"),
        ("\"tags\":[]", "\"tags\":[\"e\"]", "tags"),
        ("\"tags\":[]", "\"tags\":[[1]]", "tags"),
        ("\"tags\":[]", "\"tags\":{}", "tags"),
        ("\"content\":\"\"", "\"content\":null", "content"),
        ("\"content\":\"\",", "", "content"),
        ("\"kind\":1,", "\"kind\":1,\"kind\":1,", "kind"),
    ])
    func strictParsingNamesTheField(from: String, to: String, field: String) {
        let e = parseError(Self.good.replacingOccurrences(of: from, with: to))
        #expect(e?.field == field, "\(String(describing: e))")
    }

    @Test func wellFormedShapesParse() throws {
        let e = try Event(json: "  " + Self.good.replacingOccurrences(of: "\"kind\":1", with: "\"kind\" : 1 , \"extra\" : {\"x\":[1,2]}") + "\n")
        #expect(e.kind == 1)
        #expect(parseError("[]")?.field == nil)
        #expect(parseError(Self.good + "x") != nil)
    }

    @Test func kindClassesAndTags() throws {
        let key = SecretKey.generate()
        #expect([0, 3, 10002, 19999].allSatisfy { KindClass(kind: $0) == .replaceable })
        #expect([1, 2, 4, 44, 45, 1000, 9999, 40000].allSatisfy { KindClass(kind: $0) == .regular })
        #expect(KindClass(kind: 20000) == .ephemeral && KindClass(kind: 29999) == .ephemeral)
        #expect(KindClass(kind: 30000) == .addressable && KindClass(kind: 39999) == .addressable)
        let article = try key.sign(kind: 30023, content: "", tags: [["d", "slug"], ["expiration", "100"]], createdAt: 5)
        #expect(article.replacementKey == "30023:\(key.publicKey):slug")
        #expect(article.isExpired(at: 100) && !article.isExpired(at: 99))
        let noD = try key.sign(kind: 30023, content: "", createdAt: 5)
        #expect(noD.dTag == "")
        let deletion = try key.sign(kind: 5, content: "", tags: [["e", "x"], ["a", "30023:k:slug"], ["p", "y"]], createdAt: 5)
        #expect(deletion.deletionTargets.eventIDs == ["x"] && deletion.deletionTargets.addresses == ["30023:k:slug"])
        let older = try key.sign(kind: 0, content: "", createdAt: 1), newer = try key.sign(kind: 0, content: "x", createdAt: 2)
        #expect(newer.supersedes(older) && !older.supersedes(newer))
    }
}
