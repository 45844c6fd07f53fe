import NostrCore
import Synchronization

/// Relay lists (kind 10002) and profiles (kind 0) of the configured authors
/// that arrive through live sync or an indexer, held for the discovery loop;
/// a relay list wakes it, since it may start or stop relays.
public final class RelayListInbox: Sendable {
    private let items = Mutex<[(event: Event, relay: RelayURL)]>([])
    let wake = WakeSignal()
    let authors: Set<String>

    public init(authors: [String]) {
        self.authors = Set(authors)
    }

    func offer(_ events: [Event], from relay: RelayURL) {
        let wanted = events.filter { [RelayListMetadata.kind, Kind.dmRelayList, 0].contains($0.kind) && authors.contains($0.pubkey) }
        guard !wanted.isEmpty else { return }
        items.withLock { $0.append(contentsOf: wanted.map { (event: $0, relay: relay) }) }
        if wanted.contains(where: { $0.kind != Kind.metadata }) { wake.signal() }
    }

    func drain() -> [(event: Event, relay: RelayURL)] {
        items.withLock { all in
            defer { all = [] }; return all
        }
    }
}
