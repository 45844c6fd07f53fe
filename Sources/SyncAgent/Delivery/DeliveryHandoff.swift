import Ledger
import NostrCore
import Synchronization

/// The rows a committed record transaction made pending for one writable relay
/// (`FreshDeliveries`), handed to the daemon's delivery loop for that relay so that a live note is
/// published without reading back what the writer has just written. The ledger stays the truth:
/// the loop reads it at start, after every full batch, when a retry falls due, when anything
/// else (a requeue) signals its wake, and whenever this hand-off went stale (rows over capacity,
/// a request to vanish). While no loop is open the hand-off keeps nothing and wakes like a plain
/// signal (the one-shot run's loops read the ledger each time).
final class DeliveryHandoff: Sendable {
    /// Rows kept at most; past it they are dropped and the loop reads the ledger instead.
    static let capacity = 2 * DeliveryService.batchSize

    private struct State {
        var open = false
        var rows: [PendingDelivery] = []
        /// Rows were dropped, or the ledger changed in a way no row says: read the ledger.
        var stale = false
    }

    let wake: WakeSignal
    private let state = Mutex(State())

    init(wake: WakeSignal) {
        self.wake = wake
    }

    /// What the loop does next.
    enum Next: Sendable, Equatable {
        case rows([PendingDelivery])
        case readLedger
    }

    /// Rows just committed as pending for this relay (on the writer's queue, in commit order).
    func hand(_ rows: [PendingDelivery]) {
        let open = state.withLock { s -> Bool in
            guard s.open else { return false }
            if !s.stale {
                if s.rows.count + rows.count > Self.capacity {
                    s.rows = []
                    s.stale = true
                } else {
                    s.rows += rows
                }
            }
            return true
        }
        if open { wake.nudge() } else { wake.signal() }
    }

    /// Seqs no longer pending for this relay: not sent if still waiting here.
    func withdraw(_ seqs: [Int64]) {
        let gone = Set(seqs)
        state.withLock { s in s.rows.removeAll { gone.contains($0.seq) } }
    }

    /// The ledger changed in a way no row says: the loop reads it.
    func markStale() {
        state.withLock { s in s.stale = true }
        wake.signal()
    }

    /// A loop starts taking rows; its first round reads the ledger.
    func open() {
        state.withLock { s in
            s.open = true
            s.rows = []
            s.stale = true
        }
    }

    func close() {
        state.withLock { s in
            s.open = false
            s.rows = []
        }
    }

    /// Before the loop reads the ledger: the rows kept are there too.
    func discard() {
        state.withLock { s in
            s.rows = []
            s.stale = false
        }
    }

    /// Up to `limit` rows with a seq above `seq` (the ledger's last read saw every row pending up to
    /// it), oldest first, or `.readLedger` when stale.
    func take(after seq: Int64, limit: Int) -> Next {
        state.withLock { s -> Next in
            if s.stale { return .readLedger }
            s.rows.removeAll { $0.seq <= seq }
            guard s.rows.count > limit else {
                defer { s.rows = [] }
                return .rows(s.rows.sorted { $0.seq < $1.seq })
            }
            s.rows.sort { $0.seq < $1.seq }
            defer { s.rows.removeFirst(limit) }
            return .rows(Array(s.rows.prefix(limit)))
        }
    }
}

/// Every writable relay's hand-off, fed by the SQLite ledger after each record commit.
struct DeliveryHandoffs: Sendable {
    let byRelay: [RelayURL: DeliveryHandoff]

    func take(_ fresh: FreshDeliveries) {
        for (relay, seqs) in fresh.withdrawn { byRelay[relay]?.withdraw(seqs) }
        if fresh.unsettled {
            for handoff in byRelay.values { handoff.markStale() }
            return
        }
        for (relay, rows) in fresh.due { byRelay[relay]?.hand(rows) }
    }
}
