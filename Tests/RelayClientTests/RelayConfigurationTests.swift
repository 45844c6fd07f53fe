import NostrCore
import PeerHarness
import Testing

@testable import RelayClient

@Suite("Relay configuration defaults (no I/O)")
struct RelayConfigurationTests {
    /// Compression saves nothing on loopback and costs a Python relay CPU, so only remote hosts get the offer.
    @Test(arguments: [
        ("ws://127.0.0.1:7447", false),
        ("ws://127.1.2.3/", false),
        ("ws://localhost:8080", false),
        ("WS://LOCALHOST", false),
        ("ws://relay.localhost:80", false),
        ("ws://[::1]:7447", false),
        ("ws://[::ffff:127.0.0.1]:7447", false),
        ("wss://relay.damus.io", true),
        ("wss://127.example.com", true),
        ("ws://10.0.0.5:7447", true),
        ("ws://128.0.0.1", true),
        ("ws://127.0.0.1.nip.io", true),
        ("ws://[2001:db8::1]:7447", true),
    ])
    func deflateIsOfferedOnlyBeyondLoopback(_ text: String, _ offered: Bool) throws {
        #expect(RelayConfiguration(url: try #require(RelayURL(text))).offersCompression == offered)
    }

    @Test func anExplicitSettingWinsEitherWay() {
        var local = RelayConfiguration(url: "ws://127.0.0.1:7447")
        local.compression = true
        #expect(local.offersCompression)
        var remote = RelayConfiguration(url: "wss://relay.damus.io")
        remote.compression = false
        #expect(!remote.offersCompression)
    }
}
