/// Filters prepared for matching many events: ids, authors and kinds as sets, so a
/// subscription for thousands of authors costs a hash lookup per event, not a scan.
/// Matches exactly as `Filter.matches` does; an event matches when any filter does.
public struct FilterMatcher: Sendable {
    private struct Prepared: Sendable {
        let ids: Set<String>?
        let authors: Set<String>?
        let kinds: Set<Int>?
        let tags: [String: Set<String>]
        let since: Int64?
        let until: Int64?

        init(_ f: Filter) {
            ids = f.ids.map(Set.init)
            authors = f.authors.map(Set.init)
            kinds = f.kinds.map(Set.init)
            tags = f.tags.mapValues(Set.init)
            since = f.since
            until = f.until
        }

        func matches(_ event: Event) -> Bool {
            if let ids, !ids.contains(event.id) { return false }
            if let authors, !authors.contains(event.pubkey) { return false }
            if let kinds, !kinds.contains(event.kind) { return false }
            if let since, event.createdAt < since { return false }
            if let until, event.createdAt > until { return false }
            for (name, values) in tags {
                let hit = event.tags.contains { $0.count >= 2 && $0[0] == name && values.contains($0[1]) }
                if !hit { return false }
            }
            return true
        }
    }

    private let prepared: [Prepared]

    public init(_ filters: [Filter]) {
        prepared = filters.map(Prepared.init)
    }

    public func matches(_ event: Event) -> Bool {
        prepared.contains { $0.matches(event) }
    }
}
