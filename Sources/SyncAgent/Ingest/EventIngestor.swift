import Ledger
import Logging
import NostrCore

/// The single path from "a relay gave us verified events" to the ledger:
/// records each batch in one transaction, then wakes the delivery loops and
/// the archiver. Events are verified by RelayClient before they get here.
/// On SQLite `deliveryWake` is empty: the ledger hands each commit's due rows to the delivery
/// loops itself (`DeliveryHandoff`).
public final class EventIngestor: Sendable {
    let ledger: any AgentLedgerStore
    let writableRelays: [RelayURL]
    let counters: AgentCounters
    let deliveryWake: [RelayURL: WakeSignal]
    let archiveWake: WakeSignal
    /// Set when media backup is on: new events may reference blobs.
    let mediaWake: WakeSignal?
    let scopes: ScopeMatcher
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Where relay lists seen in passing go, when discovery is on.
    let relayLists: RelayListInbox?
    let metrics: AgentMetrics?

    convenience init(
        ledger: any AgentLedgerStore, writableRelays: [RelayURL], counters: AgentCounters, deliveryWake: [RelayURL: WakeSignal],
        archiveWake: WakeSignal, filter: Filter, logger: Logger, relayLists: RelayListInbox? = nil, metrics: AgentMetrics? = nil,
        now: @escaping @Sendable () -> Int64
    ) {
        self.init(
            ledger: ledger, writableRelays: writableRelays, counters: counters, deliveryWake: deliveryWake, archiveWake: archiveWake,
            scopes: ScopeMatcher(filter: filter), logger: logger, relayLists: relayLists, metrics: metrics, now: now)
    }

    init(
        ledger: any AgentLedgerStore, writableRelays: [RelayURL], counters: AgentCounters, deliveryWake: [RelayURL: WakeSignal],
        archiveWake: WakeSignal, scopes: ScopeMatcher, logger: Logger, relayLists: RelayListInbox? = nil, metrics: AgentMetrics? = nil,
        mediaWake: WakeSignal? = nil, now: @escaping @Sendable () -> Int64
    ) {
        self.mediaWake = mediaWake
        self.metrics = metrics
        self.ledger = ledger
        self.writableRelays = writableRelays
        self.counters = counters
        self.deliveryWake = deliveryWake
        self.archiveWake = archiveWake
        self.scopes = scopes
        self.logger = logger
        self.now = now
        self.relayLists = relayLists
    }

    /// Records events seen on `relay`. Events outside the configured authors,
    /// kinds or time range are ignored: a relay may send more than was asked.
    /// Returns how many were new to the ledger. `live` events (from a live subscription) have
    /// their propagation to the first backup timed.
    @discardableResult
    public func ingest(_ events: [Event], from relay: RelayURL, live: Bool = false) async throws -> Int {
        var wanted: [Event] = []
        var observed: [ObservedEvent] = []
        // Per event, its scopes; nil with the authors' scope alone (every event is in it), which
        // keeps the bulk path free of an array per event.
        var matched: [[ScopeName]]? = nil
        wanted.reserveCapacity(events.count)
        observed.reserveCapacity(events.count)
        if scopes.hasIndexes {
            var names: [[ScopeName]] = []
            for event in events {
                let match = scopes.match(event)
                guard !match.scopes.isEmpty else { continue }
                wanted.append(event)
                observed.append(ObservedEvent(event: event, relay: relay, indexes: match.indexes))
                names.append(match.scopes)
            }
            matched = names
        } else {
            for event in events where scopes.inAuthors(event) {
                wanted.append(event)
                observed.append(ObservedEvent(event: event, relay: relay))
            }
        }
        guard !wanted.isEmpty else { return 0 }
        let outcomes = try await record(observed)
        var anyNew = false
        var firstSeen = 0
        var byScope: [ScopeName: Int] = [:]
        counters.update { c in
            c.fetched[relay.normalized, default: 0] += wanted.count
            for (i, o) in outcomes.enumerated() {
                if o.seq != nil {
                    if let matched { for name in matched[i] { byScope[name, default: 0] += 1 } } else { byScope[.authors, default: 0] += 1 }
                }
                switch o {
                case .new: c.new += 1; anyNew = true; firstSeen += 1
                case .known: c.known += 1
                case .superseded: c.superseded += 1; anyNew = true; firstSeen += 1
                case .expired: c.expired += 1; anyNew = true; firstSeen += 1
                case .ephemeral: c.ephemeral += 1
                }
            }
        }
        if !byScope.isEmpty {
            let named = Dictionary(uniqueKeysWithValues: byScope.map { ($0.key.description, $0.value) })
            counters.update { c in c.newByScope.merge(named, uniquingKeysWith: +) }
            metrics?.recorded(byScope: named)
        }
        metrics?.received(wanted.count, new: firstSeen, from: relay)
        if live, let metrics {
            for o in outcomes { if case let .new(seq) = o { metrics.arrived(seq: seq) } }
        }
        if let relayLists {
            // Only first sightings: discovery records what it is offered, and must not be offered it again.
            relayLists.offer(zip(wanted, outcomes).compactMap { if case .new = $1 { $0 } else { nil } }, from: relay)
        }
        if anyNew {
            for w in deliveryWake.values { w.signal() }
            archiveWake.signal()
            mediaWake?.signal()
        }
        return firstSeen
    }
}

extension EventIngestor {
    /// The SQLite ledger through its writer (group commit) by name: its synchronous `record`
    /// would also satisfy the interface's async requirement.
    func record(_ observed: [ObservedEvent]) async throws -> [RecordOutcome] {
        if let sqlite = ledger as? Ledger { return try await sqlite.record(observed, writableRelays: writableRelays, now: now()) }
        return try await ledger.record(observed, writableRelays: writableRelays, now: now())
    }
}
