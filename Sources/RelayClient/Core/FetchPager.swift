import NostrCore

/// Plans the REQs of a backfill and digests their answers, without I/O.
///
/// Pages go backwards in time with `until`. The boundary second of each page is asked again
/// (events sharing one `created_at` may straddle the cap), `until` is sent one past the wanted
/// bound so exclusive relays (nostr-relay) miss nothing, and inclusive ones are recognised
/// when they return an event at the sent `until`. A second holding more events than one page
/// is queried alone, then split by kind and author; what still overflows is reported.
struct FetchPager: Sendable {
    enum Step: Sendable, Equatable {
        case page
        /// Query exactly one second; `parts` are the filters (split or not) still to ask.
        case second(Int64, parts: [Filter], split: Bool)
        case done
    }

    struct Digest: Sendable {
        var fresh: [Event] = []
        var duplicates = 0
        var outOfRange = 0
    }

    let base: Filter
    private let baseMatcher: FilterMatcher
    let pageLimit: Int
    /// Inclusive upper bound of what is left; nil until the first page.
    private(set) var upper: Int64?
    private(set) var untilInclusive: Bool?
    private(set) var step: Step = .page
    private(set) var maxReturned = 0
    /// Smallest result count shown to have been truncated.
    private(set) var provenCap: Int?
    private(set) var cappedSeconds: [Int64] = []
    private var lastPageRaw: Int?
    private var seen: [String: Int64] = [:]

    init(filter: Filter, pageLimit: Int) {
        var f = filter
        f.limit = nil
        base = f
        baseMatcher = FilterMatcher([f])
        self.pageLimit = max(1, pageLimit)
        upper = filter.until
    }

    var isDone: Bool { step == .done }

    var cursor: FetchCursor {
        isDone ? FetchCursor(nextUntil: nil, complete: true) : FetchCursor(nextUntil: upper, complete: false)
    }

    private func untilParam(for bound: Int64) -> Int64 {
        untilInclusive == true ? bound : bound + 1
    }

    /// The filter for the next REQ, nil when done.
    func nextFilter() -> Filter? {
        switch step {
        case .done:
            return nil
        case .page:
            var f = base
            f.limit = pageLimit
            if let upper { f.until = untilParam(for: upper) }
            return f
        case let .second(t, parts, _):
            guard var f = parts.first else { return nil }
            f.since = t
            f.until = untilParam(for: t)
            f.limit = pageLimit
            return f
        }
    }

    /// Digests the events one REQ returned (already verified); `rawCount` counts everything
    /// the relay sent for it, dropped or not, since that is what its cap limited.
    mutating func receive(_ events: [Event], rawCount: Int, sentUntil: Int64?) -> Digest {
        var d = Digest()
        // Asked for `until = bound + 1`: an event at exactly that value means `until` is inclusive.
        var learnedInclusive = false
        if untilInclusive != true, let sentUntil, events.contains(where: { $0.createdAt == sentUntil }) {
            untilInclusive = true
            learnedInclusive = true
        }
        var inWindow: [Event] = []
        for e in events {
            guard baseMatcher.matches(e) else { d.outOfRange += 1; continue }
            if seen[e.id] != nil {
                d.duplicates += 1
            } else {
                seen[e.id] = e.createdAt
                d.fresh.append(e)
            }
            if upper.map({ e.createdAt <= $0 }) ?? true { inWindow.append(e) }
        }
        maxReturned = max(maxReturned, rawCount)
        switch step {
        case .done:
            break
        case .page:
            if let prev = lastPageRaw, !d.fresh.isEmpty, d.fresh.contains(where: { e in upper.map { e.createdAt <= $0 } ?? false }) {
                // The previous page left out events in its own range: its count was a cap.
                provenCap = min(provenCap ?? .max, prev)
            }
            lastPageRaw = rawCount
            guard let oldest = inWindow.map(\.createdAt).min() else {
                // Events above the window filled the answer: ask again with an inclusive `until`.
                if !learnedInclusive { step = .done }
                break
            }
            let truncated = rawCount >= pageLimit || rawCount >= maxReturned
            if !truncated { step = .done; break }
            if upper == nil || oldest < upper! {
                upper = oldest
            } else {
                step = .second(oldest, parts: [base], split: false)
            }
        case let .second(t, parts, split):
            lastPageRaw = nil
            let capped = rawCount >= pageLimit || (provenCap.map { rawCount >= $0 } ?? false)
            var rest = Array(parts.dropFirst())
            var didSplit = split
            if capped {
                if !split, let pieces = Self.split(base), pieces.count > 1 {
                    rest = pieces
                    didSplit = true
                } else if !cappedSeconds.contains(t) {
                    cappedSeconds.append(t)
                }
            }
            if rest.isEmpty {
                upper = t - 1
                step = .page
            } else {
                step = .second(t, parts: rest, split: didSplit)
            }
        }
        if step != .done, let since = base.since, let upper, upper < since { step = .done }
        if step != .done, let upper, upper < 0 { step = .done }
        pruneSeen()
        return d
    }

    /// Narrower filters covering the same events, for a second too full for one page.
    static func split(_ f: Filter) -> [Filter]? {
        if let kinds = f.kinds, kinds.count > 1 {
            return kinds.map {
                var g = f; g.kinds = [$0]; return g
            }
        }
        if let authors = f.authors, authors.count > 1 {
            return authors.map {
                var g = f; g.authors = [$0]; return g
            }
        }
        return nil
    }

    /// Only events at or above the current bound can come back; forget older ones, so memory
    /// stays flat however long the history (the set is kept small: pages are a few hundred).
    private mutating func pruneSeen() {
        guard seen.count > 10_000, let upper else { return }
        seen = seen.filter { $0.value <= upper + 1 }
    }
}
