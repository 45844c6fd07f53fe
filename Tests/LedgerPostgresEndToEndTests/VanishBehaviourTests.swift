import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

/// NIP-62 on both ledgers: a request to vanish stops what is owed to the relays it names, for the
/// author's events up to its date, including copies that arrive later, and reconciliation does
/// not schedule them again.
@Suite struct VanishBehaviourTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002", c: RelayURL = "ws://127.0.0.1:7003", d: RelayURL = "ws://127.0.0.1:7004"
    let me = SecretKey.generate()

    @Test(arguments: LedgerStoreBehaviourTests.stores) func aRequestToVanishStopsWhatIsOwedToThatRelayAndWhatComesLater(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let notes = try (0..<5).map { try me.sign(kind: 1, content: "n\($0)", createdAt: 1_000 + Int64($0)) }
            _ = try await store.record(notes.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 10)
            let vanish = try me.sign(kind: Kind.requestToVanish, content: "", tags: [["relay", b.normalized + "/"]], createdAt: 1_003)
            _ = try await store.record([ObservedEvent(event: vanish, relay: a)], writableRelays: [b, c], now: 11)
            for note in notes {
                let owed = try await store.presence(of: note)
                #expect(owed[c] == .pending)
                #expect(owed[b] == (note.createdAt <= 1_003 ? .rejected : .pending), "\(note.createdAt)")
            }
            #expect(try await store.presence(of: vanish)[b] == .pending, "the request itself reaches the relay")
            // A backdated copy arriving later is not owed there either.
            let late = try me.sign(kind: 1, content: "late", createdAt: 900)
            _ = try await store.record([ObservedEvent(event: late, relay: a)], writableRelays: [b, c], now: 12)
            #expect(try await store.presence(of: late)[b] == .rejected)
            #expect(try await store.presence(of: late)[c] == .pending)
            // Reconciliation finding them missing on b schedules none of them again.
            let items = notes.map { LedgerItem(createdAt: $0.createdAt, id: Bytes32(hex: $0.id)!) }
            let result = try await store.requeue(relay: b, items: items, now: 20, comparedAt: nil, apply: true)
            #expect(result.notEligible == 4 && result.alreadyPending == 1, "only the note after the request is still owed: \(result)")
            // Every relay: ALL_RELAYS, including one added to the configuration afterwards.
            let everywhere = try me.sign(kind: Kind.requestToVanish, content: "", tags: [["relay", "ALL_RELAYS"]], createdAt: 2_000)
            _ = try await store.record([ObservedEvent(event: everywhere, relay: a)], writableRelays: [b, c], now: 21)
            #expect(try await store.presence(of: notes[4])[c] == .rejected)
            _ = try await store.ensureDeliveries(toWritableRelays: [b, c, d], now: 22)
            #expect(try await store.presence(of: notes[0])[d] == nil, "nothing the author asked to forget is owed to a new relay")
            #expect(try await store.presence(of: everywhere)[d] == .pending)
            if let sqlite = store as? Ledger { #expect(try sqlite.vanishRequests().map(\.relay).sorted() == ["*", b.normalized]) }
        }
    }
}
