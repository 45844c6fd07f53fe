import Ledger
import NostrCore

/// One scope as read from one relay: the REQ filter for a group of its members, the key of each
/// member's backfill cursor, and the ledger events it is compared against.
struct SyncScope: Sendable, Equatable {
    enum Selection: Sendable, Equatable {
        /// Events these authors signed.
        case authors([String], kinds: [Int]?)
        /// Events that `p`-tag these recipients, whoever signed them.
        case recipients([String], kinds: [Int])
        /// A configured filter; `key` names it in the ledger.
        case filter(Filter, key: String)
    }

    let name: ScopeName
    let selection: Selection
    /// Oldest `created_at` read (the filter's own for a filter scope).
    let since: Int64?
    /// The NIP-42 identity of the connection this scope is read on, when it has one of its own.
    var identity: String? = nil

    /// The scope's name in the ledger's records and reports: "inbox", or "inbox as npub1…" when
    /// read on a connection of its own identity.
    var recordName: String { identity.map { "\(name) as \($0)" } ?? name.description }

    /// Who or what a backfill keeps a cursor for: each author or recipient, or the filter itself.
    var members: [String] {
        switch selection {
        case let .authors(authors, _): authors
        case let .recipients(recipients, _): recipients
        case let .filter(_, key): [key]
        }
    }

    /// The backfill cursor's key in the ledger. The authors' keep their pubkeys (as before scopes).
    func cursorKey(_ member: String) -> String {
        switch selection {
        case .authors: member
        case .recipients: ScopeIndex.recipientKey(member)
        case .filter: ScopeIndex.filterKeyPrefix + member
        }
    }

    /// What a relay is asked for, for a group of members.
    func filter(for chunk: [String]) -> Filter {
        switch selection {
        case let .authors(_, kinds): Filter(authors: chunk, kinds: kinds, since: since)
        case let .recipients(_, kinds): Filter(kinds: kinds, tags: ["p": chunk], since: since)
        case let .filter(filter, _): filter
        }
    }

    /// What a relay is asked for, for every member.
    var relayFilter: Filter { filter(for: members) }

    /// How many of the SQLite ledger's events belong to this scope (`status`).
    func ledgerCount(_ ledger: Ledger) throws -> Int {
        switch selection {
        case let .authors(authors, kinds): try ledger.authorEventCount(authors: authors, kinds: kinds.map(Set.init))
        case let .recipients(recipients, kinds): try ledger.scopeEventCount(indexes: recipients.map(ScopeIndex.recipientKey), kinds: Set(kinds))
        case let .filter(_, key): try ledger.scopeEventCount(indexes: [ScopeIndex.filterKeyPrefix + key], kinds: nil)
        }
    }

    /// The same scope narrowed to some authors or recipients (a discovered relay read for a few).
    func narrowed(to subset: [String]) -> SyncScope {
        switch selection {
        case let .authors(_, kinds): SyncScope(name: name, selection: .authors(subset, kinds: kinds), since: since)
        case let .recipients(_, kinds): SyncScope(name: name, selection: .recipients(subset, kinds: kinds), since: since)
        case .filter: self
        }
    }

    /// The same inbox scope limited to some kinds (a DM relay serves private messages only).
    func limited(toKinds allowed: Set<Int>) -> SyncScope? {
        guard case let .recipients(recipients, kinds) = selection else { return self }
        let left = kinds.filter(allowed.contains)
        return left.isEmpty ? nil : SyncScope(name: name, selection: .recipients(recipients, kinds: left), since: since)
    }
}

/// The ledger's scope indexes: their keys, and what belongs to each.
enum ScopeIndex {
    static let filterKeyPrefix = "f:"

    static func recipientKey(_ pubkey: String) -> String { "p:" + pubkey }

    /// A filter's name in the ledger: a digest of it without `since` and with its lists sorted,
    /// so the same filter written differently, or started later, keeps its index.
    static func filterKey(_ filter: Filter) -> String {
        var f = canonical(filter)
        f.since = nil
        return Hex.encode(SHA256Digest.of(Array(f.description.utf8)))
    }

    static func canonical(_ filter: Filter) -> Filter {
        var f = filter
        f.authors = f.authors?.sorted()
        f.kinds = f.kinds?.sorted()
        f.tags = f.tags.mapValues { $0.sorted() }
        return f
    }

    /// What the agent indexes for a configuration: each inbox recipient and each filter.
    static func definitions(for configuration: SyncConfiguration) -> [ScopeIndexDefinition] {
        var out: [ScopeIndexDefinition] = []
        if configuration.inbox.enabled {
            for pubkey in configuration.pubkeys {
                out.append(
                    ScopeIndexDefinition(key: recipientKey(pubkey), definition: "{\"#p\":[\"\(pubkey)\"]}") { $0.tagsPubkey(pubkey) })
            }
        }
        for filter in configuration.filters {
            var undated = canonical(filter)
            undated.since = nil
            let matcher = FilterMatcher([undated])
            out.append(ScopeIndexDefinition(key: filterKeyPrefix + filterKey(filter), definition: undated.description) { matcher.matches($0) })
        }
        return out
    }
}

extension Event {
    /// Whether a `p` tag names this pubkey.
    func tagsPubkey(_ pubkey: String) -> Bool {
        tags.contains { $0.count >= 2 && $0[0] == "p" && $0[1] == pubkey }
    }
}

extension SyncConfiguration {
    /// The scopes read from a configured readable relay: the authors', then the inbox, then each filter.
    var scopes: [SyncScope] {
        var out = [SyncScope(name: .authors, selection: .authors(pubkeys, kinds: kinds), since: since)]
        if inbox.enabled { out.append(SyncScope(name: .inbox, selection: .recipients(pubkeys, kinds: inbox.kinds), since: since)) }
        for (i, filter) in filters.enumerated() {
            out.append(SyncScope(name: .filter(i), selection: .filter(filter, key: ScopeIndex.filterKey(filter)), since: filter.since))
        }
        return out
    }
}
