import NostrCore
import PeerHarness
import Testing

@testable import RelayClient
@testable import RelayClientTests

@Suite("Opening the WebSocket: TLS and the upgrade")
struct WebSocketOpeningTests {
    /// A certificate no system trusts is reported, never ignored: the client does not connect.
    @Test(.timeLimit(.minutes(1)))
    func anUntrustedCertificateIsReportedAndRefused() async throws {
        let store = ScriptedRelayStore()
        try await ScriptedRelay.with(store.behaviour, tls: try TLSFixture.serverContext()) { server in
            #expect(server.url.secure)
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                #expect(await !relay.waitUntilConnected(timeout: .seconds(3)))
                let h = await relay.health()
                #expect(h.state != .connected)
                let error = h.lastError ?? ""
                #expect(error.contains("CERTIFICATE_VERIFY_FAILED"), "\(error)")
                #expect(server.connectionCount == 0, "no WebSocket was opened")
            }
        }
    }

    /// The same relay with its certificate trusted: TLS, the upgrade, publish and query all work.
    @Test(.timeLimit(.minutes(1)))
    func aTrustedCertificateCarriesTheWholeSession() async throws {
        let store = ScriptedRelayStore()
        try await ScriptedRelay.with(store.behaviour, tls: try TLSFixture.serverContext()) { server in
            var configuration = TestSupport.configuration(server.url)
            configuration.additionalTrustRoots = [try TLSFixture.certificate()]
            try await TestSupport.withRelay(configuration) { relay in
                let events = TestSupport.events(20)
                let outcomes = await relay.publish(events)
                #expect(events.allSatisfy { outcomes[$0.id] == .accepted })
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(Set(got.events.map(\.id)) == Set(events.map(\.id)))
                #expect(await relay.health().reconnects == 0)
            }
        }
    }

    /// A server that answers the upgrade request as plain HTTP is no relay: the error says so.
    @Test(.timeLimit(.minutes(1)))
    func aServerThatDoesNotUpgradeIsReported() async throws {
        let behaviour = ScriptedRelay.Behaviour(information: #"{"name":"not a relay"}"#, refusesUpgrade: true, onText: { _, _ in })
        try await ScriptedRelay.with(behaviour) { server in
            try await TestSupport.withRelay(TestSupport.configuration(server.url)) { relay in
                #expect(await !relay.waitUntilConnected(timeout: .seconds(2)))
                let error = await relay.health().lastError ?? ""
                #expect(error.contains("did not upgrade"), "\(error)")
                #expect(server.connectionCount == 0)
            }
        }
    }
}
