import Ledger
import NostrCore
import RelayClient
import Synchronization

/// Compares a window of a relay without NIP-77 through plain REQs: the relay's ids in the window
/// against the ledger's. Where the relay answers NIP-45 COUNT, windows whose counts agree are
/// taken as equal and only the others are split and read.
struct RequestComparison {
    let relay: Relay
    /// Whether to ask COUNT first; cleared for the rest of the run when the relay does not answer it.
    var useCount: Bool
    /// Handed the relay's events the ledger lacked when the window was read, a page at a time;
    /// returns how many of them the ledger still lacked (others arrived meanwhile).
    let onMissing: @Sendable ([Event]) async throws -> Int
    /// Below this many events (ledger's plus relay's count) a differing window is read rather than split.
    static let readBelow = 5_000
    static let maxDepth = 16
    static let countTimeout: Duration = .seconds(3)

    struct Result: Sendable {
        var have: [LedgerItem] = []
        var missingInLedger = 0
        var relayEvents = 0
        var counted = false
        var messages = 0
        var bytes = 0
    }

    mutating func run(_ window: TimeWindow, base: Filter, items: [LedgerItem]) async throws -> Result {
        var result = Result()
        try await compare(window, base: base, items: items, depth: 0, into: &result)
        return result
    }

    private mutating func compare(_ window: TimeWindow, base: Filter, items: [LedgerItem], depth: Int, into result: inout Result) async throws {
        let filter = window.filter(base)
        if useCount {
            if let n = await count(filter, into: &result) {
                result.counted = true
                if n == items.count {
                    result.relayEvents += n
                    return
                }
                if depth < Self.maxDepth, n + items.count > Self.readBelow, let (left, right) = window.split(items: items) {
                    let cut = items.partitioningIndex { $0.createdAt > left.upper! }
                    try await compare(left, base: base, items: Array(items[..<cut]), depth: depth + 1, into: &result)
                    try await compare(right, base: base, items: Array(items[cut...]), depth: depth + 1, into: &result)
                    return
                }
            } else {
                useCount = false
            }
        }
        try await read(filter, items: items, into: &result)
    }

    private func count(_ filter: Filter, into result: inout Result) async -> Int? {
        let subscription = "cnt" + String(UInt32.random(in: .min ... .max), radix: 36)
        result.messages += 2
        let answer = await relay.exchange(
            .count(subscription: subscription, filters: [filter]), subscription: subscription,
            timeout: Self.countTimeout, noticeAnswers: true)
        if case let .count(_, n, approximate)? = answer, !approximate { return n }
        return nil
    }

    private func read(_ filter: Filter, items: [LedgerItem], into result: inout Result) async throws {
        let seen = SeenIDs(known: Set(items.map(\.id)))
        let onMissing = self.onMissing
        let summary = try await relay.fetchAll(filter) { page, _ in
            let fresh = seen.add(page)
            if !fresh.isEmpty { seen.noteMissing(try await onMissing(fresh)) }
        }
        let (ids, missing) = seen.state.withLock { ($0.ids, $0.missing) }
        result.messages += summary.pages * 2 + summary.events
        result.relayEvents += ids.count
        result.missingInLedger += missing
        result.have.append(contentsOf: items.filter { !ids.contains($0.id) })
    }
}

/// The relay's ids read so far, shared with the page callback.
private final class SeenIDs: Sendable {
    let known: Set<Bytes32>
    let state = Mutex<(ids: Set<Bytes32>, missing: Int)>(([], 0))

    init(known: Set<Bytes32>) { self.known = known }

    /// Notes a page; returns its events the ledger lacks. A relay's event has passed
    /// verification, so its id is 64 hex digits.
    func add(_ page: [Event]) -> [Event] {
        let ids = page.map { Bytes32(hex: $0.id) }
        state.withLock { s in
            for id in ids { if let id { s.ids.insert(id) } }
        }
        return zip(page, ids).filter { $1.map { !known.contains($0) } ?? false }.map(\.0)
    }

    func noteMissing(_ n: Int) {
        state.withLock { $0.missing += n }
    }
}

/// A range of `created_at`, both ends inclusive; an open upper end takes in every later date,
/// the future included.
struct TimeWindow: Sendable, Equatable {
    var lower: Int64
    var upper: Int64?

    func filter(_ base: Filter) -> Filter {
        var f = base
        f.since = max(base.since ?? 0, lower)
        if f.since == 0 { f.since = nil }
        f.until = upper
        f.limit = nil
        return f
    }

    /// Two halves, or nil for a single second: at the ledger's median item when that divides the
    /// window (the relay's events tend to sit where ours do), else at the middle of its time. An
    /// open window is cut below the later of its last item and now, so its right half stays open.
    func split(items: [LedgerItem], now: Int64 = WallClock.unixNow()) -> (TimeWindow, TimeWindow)? {
        let top = upper ?? max(items.last?.createdAt ?? lower, now)
        guard top > lower else { return nil }
        var mid = lower + (top - lower) / 2
        if items.count >= 2 {
            let median = items[items.count / 2 - 1].createdAt
            if median >= lower && median < top { mid = median }
        }
        return (TimeWindow(lower: lower, upper: mid), TimeWindow(lower: mid + 1, upper: upper))
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, for an array partitioned by it.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
