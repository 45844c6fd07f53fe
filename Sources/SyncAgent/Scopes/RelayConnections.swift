import NostrCore

/// The connections a configured relay gets for the scopes read from it, and the NIP-42 keys each
/// answers with. One identity per connection: some relays (nostr-sdk's DM relay) keep only the last
/// AUTH and serve gift wraps only to the pubkey they are addressed to, so where the relay's own
/// connection would need several identities (the agent's and a recipient's, or several
/// recipients'), each keyed recipient's inbox is read on a connection of its own, as that recipient.
struct RelayConnections {
    /// The keys the relay's own connection answers AUTH with.
    var keys: [SecretKey]
    /// The scopes read on the relay's own connection.
    var scopes: [SyncScope]
    /// Recipients' inboxes read on connections of their own: the identity (npub), its key, the scope.
    var identities: [(identity: String, key: SecretKey, scope: SyncScope)] = []

    init(entry: SyncConfiguration.RelayEntry, scopes all: [SyncScope], agentKey: SecretKey?, inboxKeys: [(pubkey: String, key: SecretKey)], pubkeys: [String]) {
        keys = entry.auth ? agentKey.map { [$0] } ?? [] : []
        scopes = entry.role.isReadable ? all.filter { entry.reads($0.name) } : []
        guard let inbox = scopes.firstIndex(where: { $0.name == .inbox }), !inboxKeys.isEmpty else { return }
        if inboxKeys.count + keys.count == 1 {
            keys = inboxKeys.map(\.key)
            return
        }
        for (pubkey, key) in inboxKeys {
            var scope = scopes[inbox].narrowed(to: [pubkey])
            scope.identity = NIP19.encode(.npub(pubkey))
            identities.append((scope.identity!, key, scope))
        }
        let keyed = Set(inboxKeys.map(\.pubkey))
        let unkeyed = pubkeys.filter { !keyed.contains($0) }
        if unkeyed.isEmpty { scopes.remove(at: inbox) } else { scopes[inbox] = scopes[inbox].narrowed(to: unkeyed) }
    }
}
