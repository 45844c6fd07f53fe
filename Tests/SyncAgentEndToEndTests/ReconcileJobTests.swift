import Foundation
import Ledger
import Negentropy
import NostrCore
import PeerHarness
import RelayClient
import Synchronization
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `ReconcileJob` against a scripted relay that refuses large NIP-77 sessions: the window is
/// halved until the relay accepts, a bounded number of times, and never loses a difference.
@Suite struct ReconcileJobTests {
    /// A relay holding `store`'s events that answers REQ like a relay and NIP-77 with our
    /// responder, refusing sessions over `refuseAbove` events with `blocked:`.
    static func relay(_ store: ScriptedRelayStore, refuseAbove: Int, opened: Tally) -> ScriptedRelay.Behaviour {
        let sessions = Mutex<[String: NegentropyResponder]>([:])
        return ScriptedRelay.Behaviour(onText: { c, text in
            switch try? ClientMessage.decode(text) {
            case let .negOpen(sub, filter, hex)?:
                opened.add()
                let inWindow = store.query([filter])
                guard inWindow.count <= refuseAbove else {
                    try await c.send(.negErr(subscription: sub, reason: "blocked: too many records"))
                    return
                }
                let storage = NegentropyStorage(items: inWindow.map { NegentropyItem(timestamp: UInt64($0.createdAt), id: NegentropyID(hex: $0.id)!) })
                var responder = try NegentropyResponder(storage: storage)
                let reply = try responder.reconcile(try NegentropyHex.decode(hex))
                sessions.withLock { $0[sub] = responder }
                try await c.send(.negMsg(subscription: sub, message: NegentropyHex.encode(reply)))
            case let .negMsg(sub, hex)?:
                guard var responder = sessions.withLock({ $0[sub] }) else { return }
                let reply = try responder.reconcile(try NegentropyHex.decode(hex))
                sessions.withLock { $0[sub] = responder }
                try await c.send(.negMsg(subscription: sub, message: NegentropyHex.encode(reply)))
            case .negClose?:
                break
            default:
                try await store.answer(c, text)
            }
        })
    }

    static func job(_ relay: Relay, ledger: Ledger, authors: [String], writable: Bool) -> ReconcileJob {
        let counters = AgentCounters()
        let ingestor = EventIngestor(
            ledger: ledger, writableRelays: writable ? [relay.url] : [], counters: counters, deliveryWake: [:],
            archiveWake: WakeSignal(), filter: Filter(authors: authors), logger: AgentFixture.logger, now: { 1_800_000_000 })
        return ReconcileJob(
            relay: relay, writable: writable, scope: SyncScope(name: .authors, selection: .authors(authors, kinds: nil), since: nil),
            ledger: ledger, ingestor: ingestor,
            settings: .init(), methods: ReconcileMethods(), deliveryWake: nil, logger: AgentFixture.logger)
    }

    @Test func aSessionRefusedAsTooLargeIsSplitUntilAccepted() async throws {
        let key = SecretKey.generate()
        let shared = try (0..<120).map { try key.sign(kind: 1, content: "s\($0)", createdAt: 1_700_000_000 + Int64($0 * 10)) }
        let relayOnly = try (0..<7).map { try key.sign(kind: 1, content: "r\($0)", createdAt: 1_700_000_003 + Int64($0 * 150)) }
        let ledgerOnly = try (0..<5).map { try key.sign(kind: 1, content: "l\($0)", createdAt: 1_700_000_007 + Int64($0 * 200)) }
        let store = ScriptedRelayStore(events: shared + relayOnly)
        let ledger = try Ledger.temporary()
        _ = try await ledger.record((shared + ledgerOnly).map { ObservedEvent(event: $0, relay: "ws://elsewhere") }, writableRelays: [], now: 1)
        let opened = Tally()
        try await ScriptedRelay.with(Self.relay(store, refuseAbove: 40, opened: opened)) { server in
            try await AgentFixture.withRelay(server.url) { relay in
                let record = try await Self.job(relay, ledger: ledger, authors: [key.publicKey], writable: true).run()
                #expect(record.error == nil && record.method == .nip77, "\(record)")
                #expect(record.missingInLedger == 7 && record.fetched == 7)
                #expect(record.missingOnRelay == 5 && record.requeued == 5)
                #expect(record.windows >= 4 && record.relayEvents == 127)
                #expect(opened.value <= 1 + 2 * ReconcileJob.maxSplits)
            }
        }
        #expect(try ledger.eventCount() == 132)
    }

    @Test func aRelayThatRefusesEveryWindowFallsBackToRequestsAfterBoundedSplits() async throws {
        let key = SecretKey.generate()
        let events = try (0..<60).map { try key.sign(kind: 1, content: "e\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        let store = ScriptedRelayStore(events: events)
        let ledger = try Ledger.temporary()
        _ = try await ledger.record(events.prefix(50).map { ObservedEvent(event: $0, relay: "ws://elsewhere") }, writableRelays: [], now: 1)
        let opened = Tally()
        try await ScriptedRelay.with(Self.relay(store, refuseAbove: -1, opened: opened)) { server in
            try await AgentFixture.withRelay(server.url) { relay in
                let record = try await Self.job(relay, ledger: ledger, authors: [key.publicKey], writable: false).run()
                #expect(record.error == nil, "\(record)")
                #expect(record.method == .req || record.method == .countAndReq, "\(record)")
                #expect(record.missingInLedger == 10 && record.fetched == 10)
                #expect(opened.value <= 1 + ReconcileJob.maxSplits + 1)
            }
        }
        #expect(try ledger.eventCount() == 60)
    }

    /// LocalRelay stops answering a busy connection: a session that hears nothing for a round is
    /// compared again on a new connection, once, and the run ends exact instead of failed.
    @Test func aSessionOnAConnectionThatWentSilentIsComparedAgainOnANewOne() async throws {
        let key = SecretKey.generate()
        let events = try (0..<30).map { try key.sign(kind: 1, content: "e\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        let store = ScriptedRelayStore(events: Array(events.prefix(27)))
        let ledger = try Ledger.temporary()
        _ = try await ledger.record(events.suffix(25).map { ObservedEvent(event: $0, relay: "ws://elsewhere") }, writableRelays: [], now: 1)
        let opened = Tally()
        let serving = Self.relay(store, refuseAbove: 1_000, opened: opened)
        let silentFirst = ScriptedRelay.Behaviour(onText: { c, text in
            guard c.index > 1 else { return }
            try await serving.onText(c, text)
        })
        try await ScriptedRelay.with(silentFirst) { server in
            try await AgentFixture.withRelay(server.url) { relay in
                var job = Self.job(relay, ledger: ledger, authors: [key.publicKey], writable: true)
                job.negentropyRoundTimeout = .seconds(1)
                let record = try await job.run()
                #expect(record.error == nil && record.method == .nip77, "\(record)")
                #expect(record.missingInLedger == 5 && record.fetched == 5)
                #expect(record.missingOnRelay == 3 && record.requeued == 3)
                #expect(record.windows == 1)
                #expect(opened.value == 1, "NIP-77 was answered on the second connection only")
                #expect(await relay.connectionGeneration == 2)
            }
        }
        #expect(try ledger.eventCount() == 30)
    }

    /// The connection is replaced once a run: a relay silent on every connection still fails the
    /// run, with the session's error, after two rounds rather than one reconnect after another.
    @Test func aRelaySilentOnEveryConnectionFailsTheRunAfterOneReplacement() async throws {
        let key = SecretKey.generate()
        let ledger = try Ledger.temporary()
        _ = try await ledger.record(
            [ObservedEvent(event: try key.sign(kind: 1, content: "one", createdAt: 1_700_000_000), relay: "ws://elsewhere")], writableRelays: [], now: 1)
        try await ScriptedRelay.with(ScriptedRelay.Behaviour(onText: { _, _ in })) { server in
            try await AgentFixture.withRelay(server.url) { relay in
                var job = Self.job(relay, ledger: ledger, authors: [key.publicKey], writable: true)
                job.negentropyRoundTimeout = .seconds(1)
                let record = try await job.run()
                #expect(record.error?.contains("session lost") == true, "\(record)")
                #expect(await relay.connectionGeneration == 2)
            }
        }
    }
}

final class Tally: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
