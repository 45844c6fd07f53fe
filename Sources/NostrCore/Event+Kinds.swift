extension Event {
    public var kindClass: KindClass { KindClass(kind: kind) }

    /// The first value of the first tag named `name`.
    public func firstTagValue(_ name: String) -> String? {
        for tag in tags where tag.count >= 2 && tag[0] == name { return tag[1] }
        return nil
    }

    /// The `d` tag of an addressable event; an absent tag counts as "".
    public var dTag: String? {
        kindClass == .addressable ? (firstTagValue("d") ?? "") : nil
    }

    /// The key under which a relay keeps only the newest version:
    /// `kind:pubkey:` for replaceable, `kind:pubkey:d` for addressable, nil otherwise.
    public var replacementKey: String? {
        switch kindClass {
        case .replaceable: "\(kind):\(pubkey):"
        case .addressable: "\(kind):\(pubkey):\(dTag ?? "")"
        default: nil
        }
    }

    /// NIP-01 tie-break between two versions of a replaceable event: newer
    /// `created_at` wins, and on equal timestamps the lowest id.
    public func supersedes(_ other: Event) -> Bool {
        Self.supersedes(createdAt: createdAt, id: id, other: other.createdAt, otherID: other.id)
    }

    /// The same tie-break for versions known only by their key (a stored head, say).
    public static func supersedes(createdAt: Int64, id: String, other otherCreatedAt: Int64, otherID: String) -> Bool {
        createdAt != otherCreatedAt ? createdAt > otherCreatedAt : id < otherID
    }

    /// NIP-40 expiration time, if the event carries a readable one.
    public var expiration: Int64? {
        firstTagValue("expiration").flatMap { Int64($0) }
    }

    public func isExpired(at now: Int64) -> Bool {
        guard let expiration else { return false }
        return expiration <= now
    }

    /// What a kind-5 deletion names (NIP-09): event ids (`e`) and addresses (`a`).
    public var deletionTargets: (eventIDs: [String], addresses: [String]) {
        guard kind == Kind.deletion else { return ([], []) }
        var ids: [String] = [], addresses: [String] = []
        for tag in tags where tag.count >= 2 {
            if tag[0] == "e" { ids.append(tag[1]) }
            if tag[0] == "a" { addresses.append(tag[1]) }
        }
        return (ids, addresses)
    }
}

extension Event {
    /// The pubkeys named by `p` tags.
    public var taggedPubkeys: [String] {
        var out: [String] = []
        for tag in tags where tag.count >= 2 && tag[0] == "p" && !out.contains(tag[1]) { out.append(tag[1]) }
        return out
    }

    /// What a NIP-62 request to vanish names: the relays (as written, `ALL_RELAYS` for all), or
    /// nil when this is not such a request.
    public var vanishTargets: [String]? {
        guard kind == Kind.requestToVanish else { return nil }
        return tags.filter { $0.count >= 2 && $0[0] == "relay" }.map { $0[1] }
    }

    /// NIP-62's word for every relay.
    public static let allRelays = "ALL_RELAYS"
}
