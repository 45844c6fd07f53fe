import Foundation
import NostrCore
import PeerHarness
import Testing

/// `NostrCore.RelayURL`: the one parser of relay addresses (config, discovery, dialer, NIP-11).
@Suite("RelayURL parsing and normalization")
struct RelayURLTests {
    /// The failable parse. `RelayURL("…")` with a literal is the tests' literal form
    /// (PeerHarness), which never fails; text passed through a variable is parsed.
    private func parse(_ text: String) -> RelayURL? { RelayURL(text) }

    /// What `SyncAgent.RelayURL.normalize` did before the type moved to NostrCore (URLComponents).
    static func formerNormalize(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let comps = URLComponents(string: t), let scheme = comps.scheme?.lowercased(),
            scheme == "ws" || scheme == "wss", let host = comps.host, !host.isEmpty
        else { return nil }
        var out = "\(scheme)://\(host.lowercased())"
        if let port = comps.port { out += ":\(port)" }
        var path = comps.path
        while path.hasSuffix("/") { path.removeLast() }
        out += path
        if let q = comps.query { out += "?\(q)" }
        return out
    }

    static let good = [
        "wss://Relay.Example.com/", "WSS://relay.damus.io", "ws://127.0.0.1:7777", "ws://[::1]:8080/", "ws://[::1]",
        "wss://[2001:DB8::1]:443/x/", "ws://a:", "wss://a/b//", "wss://a/b?x=1", "wss://a?x=1", "wss://a/?x=1", " wss://a ",
        "\twss://a", "wss://user@a/", "wss://user:pw@a:5/", "wss://a#frag", "wss://a/p#f", "wss://a:080", "wss://a.b.c.:5",
        "wss://héllo.com", "wss://a_b.com", "wss://a/b?", "wss://a:65535", "wss://a:1", "wss://a/?", "ws://a//", "ws://a/b/?q=/",
        "wss://nos.lol", "wss://relay.nostr.band/", "wss://relay.example.com:7447/nostr/",
    ]

    @Test(arguments: good)
    func normalizesAsBefore(_ text: String) throws {
        let url = try #require(RelayURL(text), "\(text)")
        #expect(url.normalized == Self.formerNormalize(text), "\(text)")
        #expect(RelayURL.normalize(text) == url.normalized)
        #expect(url.description == url.normalized)
        // Normalizing is idempotent.
        #expect(RelayURL.normalize(url.normalized) == url.normalized)
    }

    static let bad = [
        "", "relay.example.com", "https://relay.example", "http://relay.example", "wss:/a", "wss:a", "ws://", "ws://:80",
        "ws://a:x", "wss://[::1", "wss://::1", "wss://[::1]x", "wss://[zz::1]", "ws://a:0", "ws://a:65536", "ws://a:99999",
        "ws://a:-1", "wss://a b", "wss://a/b c", "wss://a\n", "ftp://a", "wss://a:1:2", "wss://a%20b",
        "ws://a:00000000000000000000080000",
    ]

    @Test(arguments: bad)
    func rejects(_ text: String) {
        #expect(RelayURL(text) == nil, "\(text)")
        #expect(RelayURL.normalize(text) == nil)
    }

    @Test func partsOfAPlainName() throws {
        let url = try #require(parse("wss://Relay.Example.com/nostr/?a=1#x"))
        #expect(url.secure && url.scheme == "wss")
        #expect(url.host == "relay.example.com")
        #expect(url.explicitPort == nil && url.port == 443)
        #expect(url.path == "/nostr" && url.query == "a=1")
        #expect(url.requestTarget == "/nostr?a=1")
        #expect(!url.isIPAddress)
        #expect(url.normalized == "wss://relay.example.com/nostr?a=1")
        #expect(url.informationURL == "https://relay.example.com/nostr?a=1")
    }

    @Test func portsDefaultByScheme() throws {
        #expect(parse("ws://a")?.port == 80)
        #expect(parse("wss://a")?.port == 443)
        #expect(parse("ws://a:7777")?.port == 7777)
        // An explicit default port is kept in the normalized form, as before.
        #expect(parse("wss://a:443")?.normalized == "wss://a:443")
        #expect(parse("wss://a:443")?.informationURL == "https://a:443")
        #expect(parse("ws://a:")?.explicitPort == nil)
        #expect(parse("ws://a")?.requestTarget == "/")
    }

    @Test func ipv6InBrackets() throws {
        let url = try #require(parse("ws://[2001:DB8::1]:8080/x"))
        #expect(url.host == "2001:db8::1", "the host is the address without brackets")
        #expect(url.port == 8080 && url.isIPAddress)
        #expect(url.hostInURL == "[2001:db8::1]")
        #expect(url.normalized == "ws://[2001:db8::1]:8080/x")
        #expect(url.informationURL == "http://[2001:db8::1]:8080/x")
        #expect(parse("wss://[::1]")?.port == 443)
        #expect(parse("wss://[::ffff:127.0.0.1]:1")?.host == "::ffff:127.0.0.1")
    }

    @Test func ipAddressesAreTold() {
        #expect(parse("ws://127.0.0.1")?.isIPAddress == true)
        #expect(parse("ws://10.0.0.255:1")?.isIPAddress == true)
        #expect(parse("ws://[::1]")?.isIPAddress == true)
        #expect(parse("ws://localhost")?.isIPAddress == false)
        #expect(parse("ws://1.2.3")?.isIPAddress == false)
        #expect(parse("ws://256.1.1.1")?.isIPAddress == false)
        #expect(parse("ws://relay1.example")?.isIPAddress == false)
    }

    /// Percent escapes are kept as written (URLComponents decoded them, which made an unusable
    /// request line of `wss://a/b%20c`).
    @Test func percentEscapesAreKept() {
        #expect(RelayURL.normalize("wss://a/b%20c") == "wss://a/b%20c")
        #expect(parse("wss://a/b%20c")?.requestTarget == "/b%20c")
    }

    @Test func hashableByNormalizedParts() {
        #expect(parse("WSS://A/") == parse("wss://a"))
        #expect(parse("wss://a:443") != parse("wss://a"))
    }
}
