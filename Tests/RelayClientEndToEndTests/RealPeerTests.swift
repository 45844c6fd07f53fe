import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import RelayClient
@testable import RelayClientTests

/// The client against the two third-party relays (nostr-relay 1.14 and nostr-sdk's LocalRelay),
/// started on 127.0.0.1 by each test and stopped by PID.
@Suite("RelayClient against real relays", .serialized)
struct RealPeerTests {
    static let flavors: [TestRelay.Flavor] = [.nostrRelay, .localRelay]

    @Test(.timeLimit(.minutes(2)), arguments: flavors)
    func connectPublishSubscribeEOSE(_ flavor: TestRelay.Flavor) async throws {
        try await TestRelay.with(flavor) { peer in
            let key = SecretKey.generate()
            let events = TestSupport.events(25, start: TestSupport.now() - 100, key: key)
            try await TestSupport.withRelay(TestSupport.configuration(peer.url)) { relay in
                let outcomes = await relay.publish(events)
                #expect(events.allSatisfy { outcomes[$0.id] == .accepted }, "\(outcomes.values.map(\.description))")
                guard case .duplicate = await relay.publish(events[3]) else {
                    Issue.record("a re-published event is not reported as a duplicate")
                    return
                }
                let got = await TestSupport.collect(relay.subscribe([Filter(authors: [key.publicKey])], live: false))
                #expect(got.eose)
                #expect(got.closed == nil)
                #expect(Set(got.events.map(\.id)) == Set(events.map(\.id)))
            }
        }
    }

    /// Both peers answer WebSocket pings; the round trips reach the relay's health and the
    /// connection stays up.
    @Test(.timeLimit(.minutes(1)), arguments: flavors)
    func pingsAreAnsweredAndTimed(_ flavor: TestRelay.Flavor) async throws {
        try await TestRelay.with(flavor) { peer in
            var configuration = TestSupport.configuration(peer.url)
            configuration.pingInterval = .milliseconds(200)
            try await TestSupport.withRelay(configuration) { relay in
                #expect(await relay.waitUntilConnected(timeout: .seconds(15)))
                try await TestSupport.waitFor(seconds: 10, every: .milliseconds(100)) { (await relay.health().latency.ping?.samples ?? 0) >= 3 }
                let h = await relay.health()
                #expect((h.latency.ping?.samples ?? 0) >= 3)
                #expect((h.latency.ping?.medianMs ?? .infinity) < 200)
                #expect(h.reconnects == 0 && h.state == .connected)
            }
        }
    }

    /// On 127.0.0.1 permessage-deflate is off by default, so the other tests no longer exercise it:
    /// forced on, publishing and paging through nostr-relay (which accepts the offer) still work.
    @Test(.timeLimit(.minutes(2)))
    func forcedDeflateAgainstNostrRelay() async throws {
        try await TestRelay.with(.nostrRelay) { peer in
            let key = SecretKey.generate()
            let events = TestSupport.events(50, start: TestSupport.now() - 300, key: key)
            var configuration = TestSupport.configuration(peer.url)
            configuration.compression = true
            try await TestSupport.withRelay(configuration) { relay in
                let outcomes = await relay.publish(events)
                #expect(await relay.health().deflate, "nostr-relay accepts permessage-deflate")
                // Under the whole suite's load an OK can miss the tests' 2 s timeout; the re-sent
                // event then comes back as a duplicate, which is still delivered.
                let refused = events.filter { !(outcomes[$0.id]?.isDelivered ?? false) }
                #expect(refused.isEmpty, "\(refused.count) not delivered, e.g. \(outcomes[refused.first?.id ?? ""].map(\.description) ?? "")")
                let pages = EventTally()
                let summary = try await relay.fetchAll(Filter(authors: [key.publicKey])) { page, _ in pages.add(page) }
                #expect(pages.ids == Set(events.map(\.id)))
                #expect(summary.events == events.count)
            }
        }
    }

    /// NIP-42: a relay that requires AUTH takes events and serves queries once the client has
    /// answered its challenge with the configured key, and refuses a client without a key.
    @Test(.timeLimit(.minutes(2)), arguments: flavors)
    func nip42AuthenticatesWithTheConfiguredKey(_ flavor: TestRelay.Flavor) async throws {
        let key = SecretKey.generate()
        try await TestRelay.with(flavor, options: .init(auth: true, writers: [key.publicKey])) { peer in
            let events = TestSupport.events(10, start: TestSupport.now() - 50, key: key)
            try await TestSupport.withRelay(TestSupport.configuration(peer.url, authKey: key)) { relay in
                let out = await relay.publish(events)
                #expect(events.allSatisfy { out[$0.id]?.isDelivered == true }, "\(out.values.map(\.description))")
                let got = await TestSupport.collect(relay.subscribe([Filter(authors: [key.publicKey])], live: false))
                #expect(Set(got.events.map(\.id)) == Set(events.map(\.id)))
                // nostr-relay never answers AUTH, so only LocalRelay's OK can confirm it.
                if flavor == .localRelay { #expect(await relay.health().authenticated) }
            }
            let stranger = TestSupport.events(1, start: TestSupport.now() - 10, key: SecretKey.generate())[0]
            try await TestSupport.withRelay(TestSupport.configuration(peer.url)) { relay in
                let outcome = await relay.publish(stranger)
                #expect(!outcome.isDelivered, "a relay requiring AUTH took an event from a client without a key: \(outcome)")
            }
        }
    }
}
