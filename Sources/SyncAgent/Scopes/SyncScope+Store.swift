import Ledger

extension SyncScope {
    /// `ledgerItems` on either ledger. The inbox and filter scopes read the SQLite ledger's scope
    /// indexes, which the PostgreSQL ledger does not have yet (the agent refuses those scopes on it).
    func storeItems(_ store: any AgentLedgerStore, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?) {
        if let sqlite = store as? Ledger { return try ledgerItems(sqlite, from: lower, maxItems: maxItems) }
        guard case let .authors(authors, kinds) = selection else { throw ScopeUnsupported(scope: name.description) }
        return try await store.reconcileItems(scope: ReconcileScope(authors: authors, kinds: kinds, since: since), from: lower, maxItems: maxItems)
    }

    /// `ledgerCount` on either ledger (see `storeItems`).
    func storeCount(_ store: any AgentLedgerStore) async throws -> Int {
        if let sqlite = store as? Ledger { return try ledgerCount(sqlite) }
        guard case let .authors(authors, kinds) = selection else { throw ScopeUnsupported(scope: name.description) }
        return try await store.authorEventCount(authors: authors, kinds: kinds.map(Set.init))
    }
}

/// A scope the PostgreSQL ledger cannot serve yet.
struct ScopeUnsupported: Error, CustomStringConvertible {
    let scope: String
    var description: String { "the \(scope) scope needs the SQLite ledger's scope indexes: not on a PostgreSQL ledger in this version" }
}
