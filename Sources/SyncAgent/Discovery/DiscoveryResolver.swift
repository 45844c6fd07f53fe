import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient

/// Finds the configured authors' relay lists and turns them into a plan:
/// asks the indexers and the configured readable relays (only about authors
/// not asked within the refresh interval, so a restart does not re-query),
/// caches the newest lists and profiles in the ledger, and reads the NIP-11
/// documents of the relays they name for the content strategy.
struct DiscoveryResolver: Sendable {
    let settings: SyncConfiguration.DiscoverSettings
    let authors: [String]
    /// Relays asked for relay lists: the indexers, then the configured readable relays.
    let sources: [Relay]
    let configured: Set<RelayURL>
    let hasKey: Bool
    let ledger: any DiscoveryStore
    let ingestor: EventIngestor
    let information: InformationCache
    let logger: Logger
    /// How long one round of asking the sources may take.
    var askTimeout: Duration = .seconds(20)
    /// The inbox's kinds when it is backed up: then DM relay lists (10050) are asked for too.
    var inboxKinds: [Int]? = nil
    static let metadataKinds = [0, RelayListMetadata.kind]
    var metadataKinds: [Int] { inboxKinds == nil ? Self.metadataKinds : Self.metadataKinds + [Kind.dmRelayList] }
    static let authorsPerQuery = 250

    struct Refresh: Sendable {
        /// A cached relay list changed.
        var changed = false
        /// Authors were due a check and no source answered (they stay due).
        var unanswered = false
    }

    /// Asks the sources about every author whose last check is older than
    /// the refresh interval (all of them with `force`).
    func refresh(force: Bool) async throws -> Refresh {
        let now = WallClock.unixNow()
        let checks = try await ledger.discoveryChecks(authors)
        let stale = authors.filter { force || checks[$0].map { now - $0 >= settings.refresh.components.seconds } ?? true }
        guard !stale.isEmpty else { return Refresh() }
        var changed = false
        var answered = false
        for start in stride(from: 0, to: stale.count, by: Self.authorsPerQuery) {
            let chunk = Array(stale[start..<min(start + Self.authorsPerQuery, stale.count)])
            let filter = Filter(authors: chunk, kinds: metadataKinds)
            for (url, events, ok) in await ask(filter) {
                answered = answered || ok
                let absorbed = try await absorb(events, from: url, at: now)
                changed = absorbed || changed
            }
        }
        if answered {
            try await ledger.noteDiscoveryChecked(stale, at: now)
            logger.info("relay lists refreshed", metadata: ["authors": "\(stale.count)", "changed": "\(changed)"])
        } else {
            logger.warning("no indexer or configured relay answered for relay lists", metadata: ["authors": "\(stale.count)"])
        }
        return Refresh(changed: changed, unanswered: !answered)
    }

    /// Caches relay lists and profiles (newest wins) and records them as the
    /// authors' events like any other. Returns whether a relay list changed.
    func absorb(_ events: [Event], from url: RelayURL, at time: Int64) async throws -> Bool {
        let wanted = events.filter { metadataKinds.contains($0.kind) && authors.contains($0.pubkey) }
        var changed = false
        for event in wanted {
            let replaced = try await ledger.cacheAuthorMetadata(event, from: url, at: time)
            changed = changed || (replaced && event.kind != Kind.metadata)
        }
        if !wanted.isEmpty { try await ingestor.ingest(wanted, from: url) }
        return changed
    }

    /// The cached relay lists, by author.
    func lists() async throws -> [String: RelayListMetadata] {
        try await ledger.cachedRelayLists(authors)
    }

    /// The plan for the cached lists, ranking by `health`; relays named for
    /// the first time get their NIP-11 document read first.
    func plan(health: [RelayURL: RelayHealthFigures]) async throws -> DiscoveryPlan {
        let lists = try await lists()
        let dmRelays = inboxKinds == nil ? [:] : try await ledger.cachedDirectMessageRelays(authors)
        // Private addresses are refused before anything is fetched from them, NIP-11 included.
        var urls = lists.values.flatMap(\.write)
        if inboxKinds != nil { urls += lists.values.flatMap(\.read) + dmRelays.values.flatMap(\.relays) }
        let named = Set(urls.compactMap { RelayURL($0) }).subtracting(configured)
            .filter { settings.allowPrivateAddresses || PrivateAddress.reason($0) == nil }
        let documents = await information.documents(for: named)
        let refusals = RelayContentPolicy.readRefusals(documents, hasKey: hasKey)
        var input = DiscoveryPlan.Input(
            lists: lists, configured: configured, limitPerPubkey: settings.maxRelaysPerPubkey,
            health: health, refusals: refusals, allowPrivateAddresses: settings.allowPrivateAddresses)
        input.dmRelays = dmRelays
        input.inboxKinds = inboxKinds
        return DiscoveryPlan(input)
    }

    /// One non-live query to every source at once, bounded by `askTimeout`.
    private func ask(_ filter: Filter) async -> [(RelayURL, [Event], Bool)] {
        let timeout = askTimeout
        return await withTaskGroup(of: (RelayURL, [Event], Bool).self) { group in
            for relay in sources {
                group.addTask {
                    guard await relay.waitUntilConnected(timeout: timeout) else { return (relay.url, [], false) }
                    var events: [Event] = []
                    var ended = false
                    for await item in relay.subscribe([filter], live: false) {
                        switch item {
                        case let .event(e): events.append(e)
                        case .endOfStoredEvents: ended = true
                        case let .closed(reason):
                            logger.forRelay(relay.url).debug("relay list query closed", metadata: ["reason": "\(reason.raw)"])
                        }
                    }
                    return (relay.url, events, ended)
                }
            }
            var out: [(RelayURL, [Event], Bool)] = []
            for await answer in group { out.append(answer) }
            return out
        }
    }
}
