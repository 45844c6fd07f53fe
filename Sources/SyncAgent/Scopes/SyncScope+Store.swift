import Ledger

extension SyncScope {
    /// One reconciliation window of this scope's events, on either ledger: the authors' own by
    /// author and kind, the inbox and filters from the ledger's scope indexes.
    func storeItems(_ store: any AgentLedgerStore, from lower: Int64, maxItems: Int) async throws -> (items: [LedgerItem], upper: Int64?) {
        switch selection {
        case let .authors(authors, kinds):
            try await store.reconcileItems(scope: ReconcileScope(authors: authors, kinds: kinds, since: since), from: lower, maxItems: maxItems)
        case let .recipients(recipients, kinds):
            try await store.reconcileItems(indexes: recipients.map(ScopeIndex.recipientKey), kinds: Set(kinds), from: lower, maxItems: maxItems)
        case let .filter(_, key):
            try await store.reconcileItems(indexes: [ScopeIndex.filterKeyPrefix + key], kinds: nil, from: lower, maxItems: maxItems)
        }
    }

    /// How many of the ledger's events belong to this scope, on either ledger.
    func storeCount(_ store: any AgentLedgerStore) async throws -> Int {
        switch selection {
        case let .authors(authors, kinds): try await store.authorEventCount(authors: authors, kinds: kinds.map(Set.init))
        case let .recipients(recipients, kinds): try await store.scopeEventCount(indexes: recipients.map(ScopeIndex.recipientKey), kinds: Set(kinds))
        case let .filter(_, key): try await store.scopeEventCount(indexes: [ScopeIndex.filterKeyPrefix + key], kinds: nil)
        }
    }
}
