import Foundation
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import SyncAgent

@Suite struct DiscoveryPlanTests {
    let alice = String(repeating: "a", count: 64), bob = String(repeating: "b", count: 64)
    let good = RelayHealthFigures(uptimeRatio: 0.999, medianLatencyMs: 40, errorRate: 0, rejectionRate: 0, eventsServed: 10_000)
    let bad = RelayHealthFigures(uptimeRatio: 0.3, medianLatencyMs: 900, errorRate: 0.5, rejectionRate: 0, eventsServed: 10)

    @Test func writeAndUnmarkedRelaysAreReadConfiguredOnesKeepTheirRole() {
        let lists = [
            alice: RelayListMetadata(write: ["wss://A.example/", "wss://shared.example", "wss://configured.example"], read: ["wss://reads.example"]),
            bob: RelayListMetadata(write: ["wss://shared.example", "http://web.example", "wss://b.example"], read: []),
        ]
        let plan = DiscoveryPlan(.init(lists: lists, configured: ["wss://configured.example"], limitPerPubkey: 8))
        #expect(
            plan.readers == [
                "wss://a.example": [alice],
                "wss://shared.example": [alice, bob],
                "wss://b.example": [bob],
            ])
        #expect(plan.skipped == ["http://web.example": "not a ws:// or wss:// URL"])
        // The covering relay starts first: one relay serves both authors.
        #expect(plan.order.first == "wss://shared.example")
        #expect(Set(plan.order) == Set(plan.readers.keys))
        #expect(plan.relays(for: bob) == ["wss://shared.example", "wss://b.example"])
    }

    @Test func theCapKeepsTheBestMeasuredRelaysPerPubkey() {
        let urls = (0..<10).map { "wss://r\($0).example" }
        var health: [RelayURL: RelayHealthFigures] = [:]
        health[RelayURL(urls[0])!] = bad
        health[RelayURL(urls[1])!] = bad
        for url in urls[2...] { health[RelayURL(url)!] = good }
        let plan = DiscoveryPlan(.init(lists: [alice: RelayListMetadata(write: urls, read: [])], configured: [], limitPerPubkey: 8, health: health))
        #expect(Set(plan.readers.keys.map(\.normalized)) == Set(urls[2...]))
        #expect(plan.skipped[urls[0]]?.contains("cap of 8") == true)
        #expect(plan.skipped[urls[1]]?.contains("cap of 8") == true)
    }

    @Test func aRelayOverOneAuthorsCapIsStillReadForAnother() {
        let plan = DiscoveryPlan(
            .init(
                lists: [
                    alice: RelayListMetadata(write: ["wss://good.example", "wss://bad.example"], read: []),
                    bob: RelayListMetadata(write: ["wss://bad.example"], read: []),
                ], configured: [], limitPerPubkey: 1, health: ["wss://good.example": good, "wss://bad.example": bad]))
        #expect(plan.readers == ["wss://good.example": [alice], "wss://bad.example": [bob]])
        #expect(plan.skipped.isEmpty)
    }

    @Test func theContentStrategySkipsRelaysWithTheReason() throws {
        let paid = try RelayInformation(json: #"{"limitation":{"payment_required":true}}"#)
        let reason = try #require(RelayContentPolicy(information: paid, hasKey: false).readSkipReason)
        #expect(RelayContentPolicy(information: paid, hasKey: true).readSkipReason == nil)
        let plan = DiscoveryPlan(
            .init(
                lists: [alice: RelayListMetadata(write: ["wss://paid.example", "wss://free.example"], read: [])],
                configured: [], limitPerPubkey: 8, refusals: ["wss://paid.example": reason]))
        #expect(plan.readers == ["wss://free.example": [alice]])
        #expect(plan.skipped == ["wss://paid.example": "NIP-11 payment_required and no key configured"])
    }

    @Test func retentionOfZeroRefusesThoseKinds() throws {
        let info = try RelayInformation(
            json: """
                {"limitation":{"auth_required":"true","restricted_writes":true},
                 "retention":[{"kinds":[4,[40,49]],"time":0},{"kinds":[1],"time":3600},{"kinds":[[30000,39999]],"count":0},{"time":null}]}
                """)
        #expect(info.refusedKinds == [4...4, 40...49, 30000...39999])
        let policy = RelayContentPolicy(information: info, hasKey: false)
        #expect(policy.refusal(kind: 4) == "skipped: NIP-11 retention keeps no kind 4")
        #expect(policy.refusal(kind: 45) != nil && policy.refusal(kind: 30023) != nil)
        #expect(policy.refusal(kind: 1) == nil && policy.refusal(kind: 50) == nil)
        #expect(policy.readSkipReason == "NIP-11 auth_required and no key configured")
        #expect(
            policy.writeNotes == [
                "NIP-11 restricted_writes", "NIP-11 auth_required and no key configured", "NIP-11 retention refuses kinds 4,40-49,30000-39999",
            ])
        #expect(RelayContentPolicy(information: nil, hasKey: false).refusal(kind: 4) == nil)
        // A spec without kinds covers every kind.
        #expect(try RelayInformation(json: #"{"retention":[{"time":0}]}"#).refuses(kind: 1))
    }
}

@Suite struct DiscoveredAddressTests {
    let alice = SecretKey.generate().publicKey

    @Test func relayListsNamingPrivateAddressesAreRefusedUnlessAllowed() {
        let urls = [
            "ws://127.0.0.1:7000", "ws://localhost:7001", "ws://10.1.2.3", "ws://172.20.0.1", "ws://192.168.1.1",
            "ws://169.254.1.1", "ws://[::1]:7002", "ws://[fe80::1]", "ws://[fd00::1]", "ws://[::ffff:192.168.0.1]",
            "ws://printer.local", "wss://relay.example.com", "wss://8.8.8.8", "ws://172.32.0.1",
        ]
        let lists = [alice: RelayListMetadata(write: urls, read: [])]
        let refused = DiscoveryPlan(.init(lists: lists, configured: [], limitPerPubkey: 64))
        #expect(Set(refused.readers.keys) == ["wss://relay.example.com", "wss://8.8.8.8", "ws://172.32.0.1"])
        #expect(refused.skipped.count == urls.count - 3)
        #expect(refused.skipped["ws://127.0.0.1:7000"]?.hasPrefix("loopback address") == true)
        #expect(refused.skipped["ws://[fe80::1]"]?.hasPrefix("link-local address") == true)
        let allowed = DiscoveryPlan(.init(lists: lists, configured: [], limitPerPubkey: 64, allowPrivateAddresses: true))
        #expect(allowed.readers.count == urls.count)
    }

    @Test func discoveredRelaysGetTheKeyOnlyWhenTheConfigSaysSo() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let key = SecretKey.generate()
        let keyFile = f.directory.appendingPathComponent("k")
        try key.hex.write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        for auth in [false, true] {
            let text =
                #"{"pubkeys":["\#(alice)"],"relays":[{"url":"ws://127.0.0.1:9","role":"backup","auth":true}],"secret_key_file":"k","#
                + #""ledger":"l\#(auth).sqlite","discover":{"enabled":true,"indexers":["ws://127.0.0.1:9"],"auth":\#(auth)}}"#
            let config = try SyncConfiguration.parse(text, baseDirectory: f.directory)
            let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger)
            #expect((agent.discoveredAuthKey != nil) == auth)
            #expect(agent.authKey != nil, "configured relays still answer AUTH")
        }
    }

}

@Suite struct InboxDiscoveryPlanTests {
    let alice = String(repeating: "a", count: 64), bob = String(repeating: "b", count: 64)

    @Test func theInboxIsReadFromDMRelaysForPrivateMessagesAndReadRelaysForTheRest() {
        var input = DiscoveryPlan.Input(
            lists: [
                alice: RelayListMetadata(write: ["wss://w.example"], read: ["wss://reads.example", "wss://dm.example"]),
                bob: RelayListMetadata(write: [], read: ["wss://configured.example"]),
            ], configured: ["wss://configured.example"], limitPerPubkey: 8)
        input.dmRelays = [alice: DirectMessageRelays(relays: ["wss://dm.example/"]), bob: DirectMessageRelays(relays: ["wss://dm.example", "ws://10.0.0.5"])]
        input.inboxKinds = [4, 1059, 7]
        let plan = DiscoveryPlan(input)
        #expect(plan.readers == ["wss://w.example": [alice]], "the authors' plan is unchanged")
        #expect(plan.inbox["wss://dm.example"] == DiscoveryPlan.InboxAssignment(recipients: [alice, bob], kinds: [4, 7, 1059]))
        #expect(plan.inbox["wss://reads.example"] == DiscoveryPlan.InboxAssignment(recipients: [alice], kinds: [7]))
        #expect(plan.inbox["wss://configured.example"] == nil, "configured relays read the inbox already")
        #expect(plan.skipped["ws://10.0.0.5"]?.contains("private") == true)
        #expect(plan.everyRelay == ["wss://w.example", "wss://dm.example", "wss://reads.example"])
        #expect(plan.assignment("wss://w.example").inbox == nil)
        // Without the inbox nothing of it is planned.
        input.inboxKinds = nil
        #expect(DiscoveryPlan(input).inbox.isEmpty)
    }
}
