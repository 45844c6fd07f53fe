import NostrCore

/// Which discovered relays to read, for which authors: the pure part of
/// NIP-65 discovery, so it is tested without relays. Configured relays
/// always win: a relay the config names keeps its configured role and is
/// never also a discovered reader.
public struct DiscoveryPlan: Sendable, Equatable {
    /// Discovered relay → the authors read from it (sorted).
    public var readers: [RelayURL: [String]] = [:]
    /// Relays named by relay lists but not read, with the reason, by the text the lists gave
    /// (normalized when it is a relay URL: a list may name anything).
    public var skipped: [String: String] = [:]
    /// Relays to start first: the smallest set covering every author's
    /// write relays, then the rest by score.
    public var order: [RelayURL] = []
    /// Relay → the inbox read from it: for each recipient its DM relays (kind 10050) serve its
    /// private messages, and its NIP-65 read relays the other inbox kinds.
    public var inbox: [RelayURL: InboxAssignment] = [:]

    /// Whose inbox a discovered relay is read for, and which kinds.
    public struct InboxAssignment: Sendable, Equatable, Codable {
        public var recipients: [String]
        public var kinds: [Int]
    }

    /// What one discovered relay is read for.
    public struct Assignment: Sendable, Equatable {
        public var authors: [String]
        public var inbox: InboxAssignment?
    }

    /// Every discovered relay to read: the authors' in `order`, then those read for the inbox alone.
    public var everyRelay: [RelayURL] { order + inbox.keys.filter { readers[$0] == nil }.sorted() }

    public func assignment(_ url: RelayURL) -> Assignment { Assignment(authors: readers[url] ?? [], inbox: inbox[url]) }

    public struct Input: Sendable {
        public var lists: [String: RelayListMetadata]
        public var configured: Set<RelayURL>
        public var limitPerPubkey: Int
        public var health: [RelayURL: RelayHealthFigures]
        /// Relay → why the content strategy skips it for reading.
        public var refusals: [RelayURL: String]
        /// Read discovered relays on loopback, link-local and private addresses too.
        public var allowPrivateAddresses: Bool
        /// Each recipient's DM relays (kind 10050), when the inbox is backed up.
        public var dmRelays: [String: DirectMessageRelays] = [:]
        /// The inbox's kinds; nil when the inbox is not backed up.
        public var inboxKinds: [Int]? = nil

        public init(
            lists: [String: RelayListMetadata], configured: Set<RelayURL>, limitPerPubkey: Int,
            health: [RelayURL: RelayHealthFigures] = [:], refusals: [RelayURL: String] = [:], allowPrivateAddresses: Bool = false
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
        var candidates: [String: [RelayURL]] = [:]
        for (pubkey, list) in input.lists {
            var urls: [RelayURL] = []
            for raw in list.write {
                guard let url = RelayURL(raw) else {
                    skipped[raw] = "not a ws:// or wss:// URL"
                    continue
                }
                if input.configured.contains(url) || urls.contains(url) { continue }
                if !input.allowPrivateAddresses, let why = PrivateAddress.reason(url) {
                    skipped[url.normalized] = "\(why): relays from relay lists on private addresses are refused (discover.allow_private_addresses)"
                    continue
                }
                if let reason = input.refusals[url] {
                    skipped[url.normalized] = reason
                    continue
                }
                urls.append(url)
            }
            candidates[pubkey] = urls
        }
        let capped = RelaySelection.capPerPubkey(writeRelays: candidates, limit: input.limitPerPubkey, health: input.health)
        for (pubkey, urls) in capped {
            for url in urls { readers[url, default: []].append(pubkey) }
            for url in candidates[pubkey, default: []] where !urls.contains(url) && readers[url] == nil {
                skipped[url.normalized] = skipped[url.normalized] ?? "over the cap of \(input.limitPerPubkey) discovered relays per pubkey"
            }
        }
        readers = readers.mapValues { $0.sorted() }
        for url in readers.keys { skipped[url.normalized] = nil }
        let cover = RelaySelection.cover(writeRelays: capped, health: input.health)
        order = cover + RelaySelection.rank(readers.keys.filter { !cover.contains($0) }, health: input.health)
        if let kinds = input.inboxKinds { planInbox(input, kinds: kinds) }
    }

    /// The inbox's relays: private messages from each recipient's DM relays, the other inbox kinds
    /// from its read relays; a relay named for both serves both. Refused as the authors' are.
    private mutating func planInbox(_ input: Input, kinds: [Int]) {
        let privateKinds = kinds.filter(Kind.privateMessages.contains)
        let otherKinds = kinds.filter { !Kind.privateMessages.contains($0) }
        var wanted: [RelayURL: (recipients: Set<String>, kinds: Set<Int>)] = [:]
        func want(_ raw: String, _ pubkey: String, _ kinds: [Int]) {
            guard !kinds.isEmpty else { return }
            guard let url = RelayURL(raw) else {
                skipped[raw] = "not a ws:// or wss:// URL"
                return
            }
            if input.configured.contains(url) { return }
            if !input.allowPrivateAddresses, let why = PrivateAddress.reason(url) {
                if readers[url] == nil {
                    skipped[url.normalized] = "\(why): relays from relay lists on private addresses are refused (discover.allow_private_addresses)"
                }
                return
            }
            if let reason = input.refusals[url] {
                if readers[url] == nil { skipped[url.normalized] = reason }
                return
            }
            wanted[url, default: ([], [])].recipients.insert(pubkey)
            wanted[url, default: ([], [])].kinds.formUnion(kinds)
        }
        for (pubkey, list) in input.dmRelays {
            for raw in list.relays.prefix(input.limitPerPubkey) { want(raw, pubkey, privateKinds) }
        }
        for (pubkey, list) in input.lists {
            for raw in list.read.prefix(input.limitPerPubkey) { want(raw, pubkey, otherKinds) }
        }
        for (url, w) in wanted {
            inbox[url] = InboxAssignment(recipients: w.recipients.sorted(), kinds: w.kinds.sorted())
            skipped[url.normalized] = nil
        }
    }

    /// The authors each relay would be read for, from a pubkey's point of view.
    public func relays(for pubkey: String) -> [RelayURL] {
        order.filter { readers[$0]?.contains(pubkey) ?? false }
    }
}
