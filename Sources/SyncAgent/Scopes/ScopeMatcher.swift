import NostrCore

/// Decides, for each event a relay sent, which configured scopes it belongs to (nothing outside
/// them is recorded: a relay may send more than was asked) and which ledger scope indexes it
/// joins. With the authors' scope alone it costs what the single filter did.
struct ScopeMatcher: Sendable {
    private let authors: FilterMatcher
    private let recipients: Set<String>
    private let inboxKinds: Set<Int>
    private let inboxSince: Int64?
    private let filters: [(name: ScopeName, matcher: FilterMatcher)]
    /// The filters' ledger indexes, matched without `since` (an index holds all dates).
    private let filterIndexes: [(key: String, matcher: FilterMatcher)]

    struct Match: Sendable {
        var scopes: [ScopeName] = []
        var indexes: [String] = []
    }

    init(_ configuration: SyncConfiguration) {
        authors = FilterMatcher([configuration.filter])
        recipients = configuration.inbox.enabled ? Set(configuration.pubkeys) : []
        inboxKinds = Set(configuration.inbox.kinds)
        inboxSince = configuration.since
        var filters: [(ScopeName, FilterMatcher)] = []
        var indexes: [(String, FilterMatcher)] = []
        for (i, filter) in configuration.filters.enumerated() {
            filters.append((.filter(i), FilterMatcher([filter])))
            var undated = ScopeIndex.canonical(filter)
            undated.since = nil
            indexes.append((ScopeIndex.filterKeyPrefix + ScopeIndex.filterKey(filter), FilterMatcher([undated])))
        }
        self.filters = filters
        filterIndexes = indexes
    }

    /// The authors' filter alone (tests and tools that build an ingestor by hand).
    init(filter: Filter) {
        authors = FilterMatcher([filter])
        recipients = []
        inboxKinds = []
        inboxSince = nil
        filters = []
        filterIndexes = []
    }

    /// More than the authors' scope is configured: events need `match`.
    var hasIndexes: Bool { !recipients.isEmpty || !filters.isEmpty }

    /// Whether the event is in the authors' scope.
    func inAuthors(_ event: Event) -> Bool { authors.matches(event) }

    func match(_ event: Event) -> Match {
        var m = Match()
        if authors.matches(event) { m.scopes.append(.authors) }
        guard hasIndexes else { return m }
        var inInbox = false
        if !recipients.isEmpty {
            for tag in event.tags where tag.count >= 2 && tag[0] == "p" && recipients.contains(tag[1]) {
                let key = ScopeIndex.recipientKey(tag[1])
                if !m.indexes.contains(key) { m.indexes.append(key) }
                inInbox = true
            }
            if inInbox && inboxKinds.contains(event.kind) && event.createdAt >= (inboxSince ?? 0) { m.scopes.append(.inbox) }
        }
        for (name, matcher) in filters where matcher.matches(event) { m.scopes.append(name) }
        for (key, matcher) in filterIndexes where matcher.matches(event) { m.indexes.append(key) }
        return m
    }
}
