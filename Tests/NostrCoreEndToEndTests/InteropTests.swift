import Foundation
import PeerHarness
import Testing

@testable import NostrCore

/// nostr-sdk (rust-nostr) as an outside implementation, and a real relay.
@Suite(.serialized) struct InteropTests {
    @Test func eventsSignedByNostrSDKVerifyHere() throws {
        let lines = try NostrSDKTool.sign(count: 200)
        #expect(lines.count == 200)
        for line in lines {
            let e = try Event(json: line)
            #expect(e.verify() == .valid, "\(line)")
        }
    }

    static func tricky(_ key: SecretKey) throws -> [Event] {
        let contents = [
            "plain", "quote \" backslash \\ slash / tab \t newline \n cr \r", "\u{01}\u{08}\u{0C}\u{1F}\u{7F}",
            "emoji 🚀🔥👍🏽 flags 🇩🇪", "RTL مرحبا بالعالم שלום", "line\u{2028}sep", "",
        ]
        return try contents.enumerated().map { i, c in
            try key.sign(
                kind: 1, content: c, tags: [["t", "x/y"], ["e", String(repeating: "0", count: 64), "wss://r/", "reply"]], createdAt: 1_700_000_000 + Int64(i))
        }
    }

    @Test func eventsSignedHereVerifyInNostrSDK() throws {
        let events = try Self.tricky(SecretKey.generate())
        #expect(try NostrSDKTool.verify(events.map(\.rawJSON)) == Array(repeating: true, count: events.count))
        // And a forged one is refused there too.
        var forged = events[0].rawJSON
        forged = forged.replacingOccurrences(of: "\"plain\"", with: "\"plain!\"")
        #expect(try NostrSDKTool.verify([forged]) == [false])
    }

    /// nostr-relay 1.14 rejects events whose content holds C0 control characters as
    /// "invalid: Bad signature" even when nostr-sdk signed them (its serializer differs
    /// from NIP-01 there), so those go to LocalRelay (rust-nostr) only.
    @Test(arguments: [TestRelay.Flavor.nostrRelay, .localRelay])
    func aRealRelayAcceptsEventsSignedHere(flavor: TestRelay.Flavor) async throws {
        try await TestRelay.with(flavor) { relay in
            let all = try Self.tricky(SecretKey.generate())
            let events =
                flavor == .localRelay
                ? all : all.filter { !$0.content.unicodeScalars.contains { $0.value < 0x20 && !["\n", "\r", "\t"].contains(Character($0)) } }
            #expect(events.count == (flavor == .localRelay ? 7 : 6))
            let result = try NostrSDKTool.publish(events.map(\.rawJSON), to: relay.url)
            #expect(result.accepted == events.count)
            let back = try NostrSDKTool.fetch(relay.url, filterJSON: #"{"kinds":[1]}"#)
            #expect(back.count == events.count)
        }
    }
}
