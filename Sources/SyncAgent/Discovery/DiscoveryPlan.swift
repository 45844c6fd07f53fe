import NostrCore

/// Which discovered relays to read, for which authors: the pure part of
/// NIP-65 discovery, so it is tested without relays. Configured relays
/// always win: a relay the config names keeps its configured role and is
/// never also a discovered reader.
public struct DiscoveryPlan: Sendable, Equatable {
    /// Discovered relay → the authors read from it (sorted).
    public var readers: [String: [String]] = [:]
    /// Relays named by relay lists but not read, with the reason.
    public var skipped: [String: String] = [:]
    /// Relays to start first: the smallest set covering every author's
    /// write relays, then the rest by score.
    public var order: [String] = []

    public struct Input: Sendable {
        public var lists: [String: RelayListMetadata]
        public var configured: Set<String>
        public var limitPerPubkey: Int
        public var health: [String: RelayHealthFigures]
        /// Relay → why the content strategy skips it for reading.
        public var refusals: [String: String]
        /// Read discovered relays on loopback, link-local and private addresses too.
        public var allowPrivateAddresses: Bool

        public init(
            lists: [String: RelayListMetadata], configured: Set<String>, limitPerPubkey: Int,
            health: [String: RelayHealthFigures] = [:], refusals: [String: String] = [:], allowPrivateAddresses: Bool = false
        ) {
            self.lists = lists
            self.configured = configured
            self.limitPerPubkey = limitPerPubkey
            self.health = health
            self.refusals = refusals
            self.allowPrivateAddresses = allowPrivateAddresses
        }
    }

    public init() {}

    public init(_ input: Input) {
        var candidates: [String: [String]] = [:]
        for (pubkey, list) in input.lists {
            var urls: [String] = []
            for raw in list.write {
                guard let url = RelayURL.normalize(raw) else {
                    skipped[raw] = "not a ws:// or wss:// URL"
                    continue
                }
                if input.configured.contains(url) || urls.contains(url) { continue }
                if !input.allowPrivateAddresses, let why = PrivateAddress.reason(url) {
                    skipped[url] = "\(why): relays from relay lists on private addresses are refused (discover.allow_private_addresses)"
                    continue
                }
                if let reason = input.refusals[url] {
                    skipped[url] = reason
                    continue
                }
                urls.append(url)
            }
            candidates[pubkey] = urls
        }
        let capped = RelaySelection.capPerPubkey(writeRelays: candidates, limit: input.limitPerPubkey, health: input.health)
        for (pubkey, urls) in capped {
            for url in urls { readers[url, default: []].append(pubkey) }
            for url in candidates[pubkey]! where !urls.contains(url) && readers[url] == nil {
                skipped[url] = skipped[url] ?? "over the cap of \(input.limitPerPubkey) discovered relays per pubkey"
            }
        }
        for url in readers.keys {
            readers[url]!.sort()
            skipped[url] = nil
        }
        let cover = RelaySelection.cover(writeRelays: capped, health: input.health)
        order = cover + RelaySelection.rank(readers.keys.filter { !cover.contains($0) }, health: input.health)
    }

    /// The authors each relay would be read for, from a pubkey's point of view.
    public func relays(for pubkey: String) -> [String] {
        order.filter { readers[$0]?.contains(pubkey) ?? false }
    }
}
