import Ledger
import Synchronization

/// The windows of one authors scope, read from a SQLite ledger once for every relay a run
/// compares with it. A relay compared later (a backup, after the primaries) is given the window
/// as the first relay read it, brought up to date with the scope's events recorded since: the
/// ledger never deletes an event and hands out seqs in commit order, so the window plus those
/// events is exactly what reading it again would return between the same seconds.
///
/// Bounded: the windows and the events recorded since hold at most `budget` items (40 bytes
/// each); past it a window is read afresh, as without a share. A window that the events recorded
/// since would grow past a quarter over its size is read afresh too, so relays are never asked
/// for much more than the configured window.
final class ReconcileWindowShare: Sendable {
    /// Items held at most: 8 MiB of windows.
    static let defaultBudget = (8 << 20) / MemoryLayout<LedgerItem>.stride

    private let ledger: Ledger
    private let scope: ReconcileScope
    private let budget: Int

    private struct Key: Hashable {
        let lower: Int64
        let maxItems: Int
    }

    private struct State {
        var windows: [Key: MarkedWindow] = [:]
        var held = 0
        /// The scope's events recorded after `recentFrom` (the first kept window's mark), in seq
        /// order, complete up to `recentThrough`.
        var recent: [RecordedItem] = []
        var recentFrom: Int64?
        var recentThrough: Int64 = 0
        /// Too much was recorded to hold: every window is read afresh from then on.
        var closed = false
        var reused = 0
    }

    private let state = Mutex(State())

    init(ledger: Ledger, scope: ReconcileScope, budget: Int = ReconcileWindowShare.defaultBudget) {
        self.ledger = ledger
        self.scope = scope
        self.budget = budget
    }

    /// Windows given from what was held rather than read (for tests and the log).
    var reused: Int { state.withLock { $0.reused } }

    /// The window from `lower` on, as `Ledger.reconcileItems` gives it.
    func window(from lower: Int64, maxItems: Int) throws -> (items: [LedgerItem], upper: Int64?) {
        let key = Key(lower: lower, maxItems: maxItems)
        if let held = state.withLock({ $0.closed ? nil : $0.windows[key] }), let current = try updated(held, key: key) {
            return (current.items, current.upper)
        }
        let fresh = try ledger.reconcileWindow(scope: scope, from: lower, maxItems: maxItems)
        state.withLock { s in
            // A window read before the events recorded since are known from (another relay's read
            // finished first) could not be brought up to date: it is not kept.
            guard !s.closed, s.recentFrom.map({ fresh.mark >= $0 }) ?? true else { return }
            let previous = s.windows[key]?.items.count ?? 0
            guard s.held - previous + fresh.items.count + s.recent.count <= budget else { return }
            s.windows[key] = fresh
            s.held += fresh.items.count - previous
            if s.recentFrom == nil {
                s.recentFrom = fresh.mark
                s.recentThrough = fresh.mark
            }
        }
        return (fresh.items, fresh.upper)
    }

    /// `held` with the scope's events recorded since it was read, kept for the next relay; nil
    /// when it is to be read afresh.
    private func updated(_ held: MarkedWindow, key: Key) throws -> MarkedWindow? {
        let (through, room) = state.withLock { ($0.recentThrough, budget - $0.held - $0.recent.count) }
        guard let more = try ledger.scopeItemsRecorded(after: through, scope: scope, limit: max(0, room)) else {
            state.withLock { s in
                s = State()
                s.closed = true
            }
            return nil
        }
        let known = state.withLock { s -> (recent: [RecordedItem], through: Int64)? in
            // Closed meanwhile: what was recorded since is no longer known.
            guard !s.closed else { return nil }
            // Another relay may have read the same events meanwhile.
            let through = s.recentThrough
            s.recent.append(contentsOf: more.items.lazy.filter { $0.seq > through })
            s.recentThrough = max(s.recentThrough, more.mark)
            return (s.recent, s.recentThrough)
        }
        guard let (recent, complete) = known else { return nil }
        var added: [LedgerItem] = []
        for r in recent where r.seq > held.mark && r.item.createdAt >= key.lower && held.upper.map({ r.item.createdAt <= $0 }) ?? true {
            added.append(r.item)
        }
        guard held.items.count + added.count <= key.maxItems + key.maxItems / 4 else { return nil }
        var current = held
        current.mark = complete
        if !added.isEmpty {
            added.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            current.items = Self.merge(held.items, added)
        }
        state.withLock { s in
            guard !s.closed, s.windows[key] != nil else { return }
            s.held += current.items.count - s.windows[key]!.items.count
            s.windows[key] = current
            s.reused += 1
        }
        return current
    }

    /// Two lists sorted by (created_at, id), as one.
    static func merge(_ a: [LedgerItem], _ b: [LedgerItem]) -> [LedgerItem] {
        var out: [LedgerItem] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count, j < b.count {
            if (b[j].createdAt, b[j].id) < (a[i].createdAt, a[i].id) {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }
}
