import Foundation
import Ledger
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

/// The ledger's invariants, asserted the same way against the SQLite ledger and the PostgreSQL one
/// through the agent's interfaces (`LedgerStore`). The PostgreSQL cases need Debian's
/// postgresql-15 (scripts/bootstrap installs it); without it only they are skipped.
@Suite struct LedgerStoreBehaviourTests {
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002", c: RelayURL = "ws://127.0.0.1:7003"
    let key = SecretKey.generate()
    static let stores: [StoreKind] = postgresAvailable ? [.sqlite, .postgres] : [.sqlite]

    func note(_ i: Int, kind: Int = 1, tags: [[String]] = [], at t: Int64? = nil) throws -> Event {
        try key.sign(kind: kind, content: "note \(i)", tags: tags, createdAt: t ?? 1_700_000_000 + Int64(i))
    }

    func due(_ store: any LedgerStore, _ relay: RelayURL, now: Int64 = 2_000_000_000) async throws -> [String] {
        try await store.dueDeliveries(relay: relay, limit: 100_000, now: now).map(\.eventID)
    }

    @Test(arguments: stores) func anEventIsOwedToEveryWritableRelayButTheOneItCameFrom(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let e = try note(1)
            let first = try await store.record([ObservedEvent(event: e, relay: a)], writableRelays: [a, b, c], now: 1)
            #expect(first.count == 1 && first[0].seq != nil)
            #expect(try await due(store, a).isEmpty)
            #expect(try await due(store, b) == [e.id])
            // C turns out to have it (seen live): nothing is owed to C any more.
            #expect(try await store.record([ObservedEvent(event: e, relay: c)], writableRelays: [a, b, c], now: 2) == [.known])
            #expect(try await due(store, c).isEmpty)
            #expect(try await store.presence(of: e) == [a: .present, b: .pending, c: .present])
            #expect(try await store.eventCount() == 1)
            #expect(try await store.pendingCount(relay: nil) == 1)
            #expect(try await store.hasPending(relay: b))
            #expect(try await !store.hasPending(relay: c))
        }
    }

    @Test(arguments: stores) func outcomesSettleOnlyPendingRowsAndRetriesWaitTheirDelay(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let events = try (0..<4).map { try note($0) }
            _ = try await store.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b, c], now: 1)
            let pending = try await store.dueDeliveries(relay: b, limit: 10, now: 5)
            #expect(pending.map(\.eventID) == events.map(\.id))
            #expect(pending.allSatisfy { $0.kind == 1 && $0.rawJSON.contains($0.eventID) && $0.attempts == 0 })
            try await store.recordDeliveryOutcomes(
                [
                    DeliveryResult(eventID: pending[0].eventID, relay: b, outcome: .delivered, seq: pending[0].seq),
                    DeliveryResult(eventID: pending[1].eventID, relay: b, outcome: .rejected("blocked: no"), seq: pending[1].seq),
                    DeliveryResult(eventID: pending[2].eventID, relay: b, outcome: .retry("rate-limited: slow", afterSeconds: 60), seq: pending[2].seq),
                ], now: 10, noteSuccessOf: b)
            #expect(try await due(store, b, now: 10) == [events[3].id])
            #expect(try await due(store, b, now: 70) == [events[2].id, events[3].id])
            #expect(try await store.dueDeliveries(relay: b, limit: 10, now: 70).first?.attempts == 1)
            #expect(try await store.presence(of: events[1])[b] == .rejected)
            // C's rows were not touched by B's answers.
            #expect(try await due(store, c).count == 4)
            // The echo of a delivered event does not reopen it.
            _ = try await store.record([ObservedEvent(event: events[0], relay: b)], writableRelays: [b, c], now: 11)
            #expect(try await store.presence(of: events[0])[b] == .delivered)
        }
    }

    @Test(arguments: stores) func onlyTheNewestReplaceableVersionIsPushed(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let old = try note(1, kind: 0, at: 1_700_000_000)
            let new = try note(2, kind: 0, at: 1_700_000_100)
            let older = try note(3, kind: 0, at: 1_699_999_000)
            _ = try await store.record([ObservedEvent(event: old, relay: a)], writableRelays: [b], now: 1)
            let second = try await store.record([ObservedEvent(event: new, relay: a)], writableRelays: [b], now: 2)
            guard case .new = second[0] else { Issue.record("expected new, got \(second)"); return }
            let third = try await store.record([ObservedEvent(event: older, relay: a)], writableRelays: [b], now: 3)
            guard case .superseded = third[0] else { Issue.record("expected superseded, got \(third)"); return }
            #expect(try await due(store, b) == [new.id])
            #expect(try await store.presence(of: old)[b] == .superseded)
        }
    }

    /// The PostgreSQL ledger records a batch in a few statements, not event by event: the same
    /// outcomes and rows as one at a time, for repeats within the batch, versions replacing each
    /// other within it and heads from the ledger.
    @Test(arguments: stores) func aBatchRecordsAsIfItsEventsCameOneAtATime(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let known = try note(1)
            let articleOld = try note(2, kind: 30023, tags: [["d", "x"]], at: 1_700_000_010)
            _ = try await store.record([ObservedEvent(event: known, relay: a), ObservedEvent(event: articleOld, relay: a)], writableRelays: [a, b, c], now: 1)
            let e = try note(3)
            let v1 = try note(4, kind: 0, at: 1_700_000_100), v2 = try note(5, kind: 0, at: 1_700_000_200), v0 = try note(6, kind: 0, at: 1_700_000_050)
            let articleNew = try note(7, kind: 30023, tags: [["d", "x"]], at: 1_700_000_020)
            let ephemeral = try note(8, kind: 20001)
            let batch = [(e, a), (e, c), (v1, a), (v2, a), (v0, a), (known, b), (articleNew, a), (ephemeral, a)].map { ObservedEvent(event: $0.0, relay: $0.1) }
            let outcomes = try await store.record(batch, writableRelays: [a, b, c], now: 2)
            let labels = outcomes.map { o -> String in
                switch o {
                case .new: "new"
                case .known: "known"
                case .ephemeral: "ephemeral"
                case .superseded: "superseded"
                case .expired: "expired"
                }
            }
            #expect(labels == ["new", "known", "new", "new", "superseded", "known", "new", "ephemeral"])
            #expect(try await store.presence(of: e) == [a: .present, b: .pending, c: .present])
            #expect(try await store.presence(of: v1) == [a: .present, b: .superseded, c: .superseded])
            #expect(try await store.presence(of: v2) == [a: .present, b: .pending, c: .pending])
            #expect(try await store.presence(of: v0) == [a: .present, b: .superseded, c: .superseded])
            #expect(try await store.presence(of: known) == [a: .present, b: .present, c: .pending])
            #expect(try await store.presence(of: articleOld) == [a: .present, b: .superseded, c: .superseded])
            // Seq follows the batch's order.
            #expect(try await due(store, b) == [e.id, v2.id, articleNew.id])
            #expect(try await due(store, c) == [known.id, v2.id, articleNew.id])
            #expect(try await store.eventCount() == 7)
        }
    }

    @Test(arguments: stores) func ephemeralIsNotKeptAndExpiredIsNotPushed(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let ephemeral = try note(1, kind: 20_001)
            let expired = try note(2, tags: [["expiration", "1700000100"]])
            let outcomes = try await store.record(
                [ObservedEvent(event: ephemeral, relay: a), ObservedEvent(event: expired, relay: a)], writableRelays: [b], now: 1_800_000_000)
            #expect(outcomes[0] == .ephemeral)
            guard case .expired = outcomes[1] else { Issue.record("expected expired, got \(outcomes)"); return }
            #expect(try await due(store, b).isEmpty)
            #expect(try await store.eventCount() == 1)
        }
    }

    @Test(arguments: stores) func aBackupAddedLaterIsOwedWhatIsAlreadyRecorded(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let events = try (0..<3).map { try note($0) }
            _ = try await store.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
            #expect(try await store.ensureDeliveries(toWritableRelays: [b, c], now: 2) == 3)
            #expect(try await due(store, c) == events.map(\.id))
            // A second start finds nothing more to add.
            #expect(try await store.ensureDeliveries(toWritableRelays: [b, c], now: 3) == 0)
        }
    }

    @Test(arguments: stores) func cursorsRoundTripAndNewestSeenOnlyRises(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p1 = String(repeating: "1", count: 64), p2 = String(repeating: "2", count: 64)
            #expect(try await store.cursors(relay: a, pubkeys: [p1, p2]).isEmpty)
            try await store.setCursor(BackfillCursor(until: 500, complete: false, newestSeen: 900), relay: a, pubkeys: [p1, p2])
            try await store.noteNewestSeen(800, relay: a, pubkeys: [p1])
            try await store.noteNewestSeen(950, relay: a, pubkeys: [p2])
            let cursors = try await store.cursors(relay: a, pubkeys: [p1, p2])
            #expect(cursors[p1] == BackfillCursor(until: 500, complete: false, newestSeen: 900))
            #expect(cursors[p2] == BackfillCursor(until: 500, complete: false, newestSeen: 950))
            #expect(try await store.cursors(relay: b, pubkeys: [p1]).isEmpty)
        }
    }

    @Test(arguments: stores) func theArchiverReadsInCommitOrderFromItsMark(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let events = try (0..<5).map { try note($0) }
            let outcomes = try await store.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [], now: 1)
            #expect(try await store.archivedThroughSeq() == 0)
            let firstTwo = try await store.events(afterSeq: 0, limit: 2)
            #expect(firstTwo.map(\.id) == events.prefix(2).map(\.id))
            try await store.setArchivedThroughSeq(firstTwo.last!.seq)
            let rest = try await store.events(afterSeq: try await store.archivedThroughSeq(), limit: 100)
            #expect(rest.map(\.id) == events.suffix(3).map(\.id))
            #expect(rest.map(\.seq) == outcomes.suffix(3).compactMap(\.seq))
            #expect(rest.allSatisfy { $0.rawJSON.contains($0.id) })
        }
    }

    @Test(arguments: stores) func reconciliationWindowsKeepWholeSecondsAndRequeueWhatABackupLost(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // Six events over three seconds, two a second; one by another author, out of scope.
            var events = try (0..<6).map { try note($0, at: 1_700_000_000 + Int64($0 / 2)) }
            let stranger = try SecretKey.generate().sign(kind: 1, content: "other", createdAt: 1_700_000_001)
            _ = try await store.record((events + [stranger]).map { ObservedEvent(event: $0, relay: a) }, writableRelays: [b], now: 1)
            let scope = ReconcileScope(authors: [key.publicKey], kinds: [1], since: nil)
            var all: [LedgerItem] = []
            var lower: Int64 = 0
            var windows = 0
            while windows < 10 {
                let (items, upper) = try await store.reconcileItems(scope: scope, from: lower, maxItems: 3)
                windows += 1
                all += items
                // Never a second split between windows.
                if let upper { #expect(items.allSatisfy { $0.createdAt <= upper }) }
                guard let upper else { break }
                lower = upper + 1
            }
            events.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            #expect(all.map(\.id.hex) == events.map(\.id))
            #expect(windows >= 2)
            // B acknowledged everything, then lost two: they are owed again, counted as lost.
            let pending = try await store.dueDeliveries(relay: b, limit: 100, now: 2)
            try await store.recordDeliveryOutcomes(
                pending.map { DeliveryResult(eventID: $0.eventID, relay: b, outcome: .delivered, seq: $0.seq) }, now: 3, noteSuccessOf: nil)
            let lost = all.prefix(2).map { $0 }
            let unknown = LedgerItem(createdAt: 5, id: Bytes32(hex: String(repeating: "ab", count: 32))!)
            let result = try await store.requeue(relay: b, items: lost + [unknown], now: 4, comparedAt: nil, apply: true)
            #expect(result.requeued == 2 && result.lostAfterDelivery == 2 && result.unknown == 1)
            #expect(Set(try await due(store, b)) == Set(lost.map(\.id.hex)))
            // Found on the relay after all: nothing owed.
            try await store.markPresent(relay: b, items: lost, now: 5)
            #expect(try await due(store, b).isEmpty)
            try await store.recordReconciliation(
                ReconciliationRecord(
                    relay: b, startedAt: 4, finishedAt: 5, method: .nip77, windows: windows, ledgerEvents: 6, relayEvents: 4,
                    missingOnRelay: 2, missingInLedger: 0, fetched: 0, requeued: 2, lostAfterDelivery: 2, messages: 3, bytes: 100, error: nil))
        }
    }
}
