import NostrCore
import Synchronization

/// Every subscription of one relay and when each may be on the wire: the relay's
/// `max_subscriptions`, re-issue after a reconnect, EOSE timeouts, holds for NIP-42.
/// A value without I/O; the relay core carries out the actions it returns.
struct SubscriptionTable {
    struct Settings: Sendable {
        var eoseTimeout: Duration
        /// How long a subscription held for NIP-42 waits before it ends.
        var authTimeout: Duration
        /// Ids remembered per subscription, to drop what a re-issued REQ replays.
        var recentIDs: Int
    }

    enum Action {
        case send(ClientMessage)
        case push(SubscriptionItem, to: SubscriptionHandle)
        case finish(SubscriptionHandle)
        case log(Note)
    }

    /// Worth a log line, for the core to write with its logger.
    enum Note: Equatable {
        case eoseTimedOut(String)
        case ignoresLimitZero(String, storedEvents: Int)
        case closedByRelay(String, RelayReason)
    }

    enum Routing {
        case unknown, invalid, outOfRange, duplicate
        case deliver(SubscriptionHandle)
    }

    enum Closing {
        case unknown
        /// Held until NIP-42 completes; the caller starts authenticating.
        case heldForAuth
        case ended([Action])
    }

    struct EOSE {
        var actions: [Action] = []
        var reqToEOSE: Duration?
    }

    struct Tick {
        var actions: [Action] = []
        /// Some REQ still awaits its EOSE.
        var awaitingEOSE = false
        /// A consumer, not the relay, is why nothing is read.
        var backpressured = false
    }

    struct Record {
        let handle: SubscriptionHandle
        var filters: [Filter]
        let matcher: FilterMatcher
        let live: Bool
        /// Events received between the REQ and its EOSE: stored ones, which a live subscription
        /// with `limit: 0` should not get.
        var beforeEOSE = 0
        var awaitingEOSE = false
        var eoseDelivered = false
        /// The connection generation its REQ went out on.
        var activeOn: Int?
        var reqSentAt: Duration?
        var recent: RecentIDs
        var authRetried = false
        var heldForAuthAt: Duration?
        let createdOrder: Int
    }

    let settings: Settings
    private var records: [String: Record] = [:]
    private var created = 0
    /// The connection generation REQs go out on; nil while there is none to write to.
    private(set) var link: Int?
    /// The relay's `max_subscriptions`, when it states one.
    var maxActive: Int?

    init(settings: Settings) { self.settings = settings }

    var count: Int { records.count }
    subscript(id: String) -> Record? { records[id] }

    // MARK: registration

    mutating func register(_ handle: SubscriptionHandle, filters: [Filter], live: Bool, at now: Duration) -> [Action] {
        created += 1
        records[handle.id] = Record(
            handle: handle, filters: filters, matcher: FilterMatcher(filters), live: live,
            recent: RecentIDs(capacity: settings.recentIDs), createdOrder: created)
        var out: [Action] = []
        sendREQ(handle.id, at: now, into: &out)
        return out
    }

    mutating func cancel(_ id: String, at now: Duration) -> [Action] {
        var out: [Action] = []
        remove(id, sendClose: true, at: now, into: &out)
        return out
    }

    // MARK: connection

    /// A connection opened: everything not on it goes out, oldest first, within the limit.
    mutating func linked(generation: Int, at now: Duration) -> [Action] {
        link = generation
        var out: [Action] = []
        resubscribeAll(at: now, into: &out)
        return out
    }

    /// The connection is being closed: nothing more can be written to it.
    mutating func unlinked() { link = nil }

    mutating func connectionLost() {
        link = nil
        for key in Array(records.keys) {
            records[key]?.activeOn = nil
            records[key]?.reqSentAt = nil
        }
    }

    mutating func shutdown() -> [Action] {
        link = nil
        var out: [Action] = []
        for (_, rec) in records {
            out.append(.push(.closed(RelayReason("error: relay client shut down")), to: rec.handle))
            out.append(.finish(rec.handle))
        }
        records = [:]
        return out
    }

    // MARK: inbound

    /// Every event the relay sends counts against the subscription's cap, whatever becomes of it.
    mutating func route(_ sub: String, event: Event, valid: Bool) -> Routing {
        // Changed in place through the subscript: a copy of the record would copy its id set.
        guard let handle = records[sub]?.handle else { return .unknown }
        handle.rawCount.withLock { $0 += 1 }
        guard valid else { return .invalid }
        guard records[sub]?.matcher.matches(event) == true else { return .outOfRange }
        guard records[sub]?.recent.insert(event.id) == true else { return .duplicate }
        if records[sub]?.awaitingEOSE == true { records[sub]?.beforeEOSE += 1 }
        return .deliver(handle)
    }

    /// An event the relay sent that could not be read.
    func unreadable(_ sub: String) {
        records[sub]?.handle.rawCount.withLock { $0 += 1 }
    }

    mutating func eose(_ sub: String, at now: Duration) -> EOSE {
        guard var rec = records[sub] else { return EOSE() }
        var out = EOSE()
        if let sent = rec.reqSentAt {
            out.reqToEOSE = now - sent
            rec.reqSentAt = nil
        }
        rec.awaitingEOSE = false
        if rec.live {
            if rec.beforeEOSE > 0, rec.filters.allSatisfy({ $0.limit == 0 }) {
                // The relay ignores `limit: 0` and sent its stored events first (nostr-relay does);
                // `limit: 1` bounds that to one event per filter on the next reconnect.
                out.actions.append(.log(.ignoresLimitZero(sub, storedEvents: rec.beforeEOSE)))
                rec.filters = rec.filters.map { f in
                    var g = f; g.limit = 1; return g
                }
            }
            if !rec.eoseDelivered {
                rec.eoseDelivered = true
                out.actions.append(.push(.endOfStoredEvents, to: rec.handle))
            }
            records[sub] = rec
        } else {
            out.actions.append(.push(.endOfStoredEvents, to: rec.handle))
            out.actions.append(.finish(rec.handle))
            remove(sub, sendClose: true, at: now, into: &out.actions)
        }
        return out
    }

    /// The relay's CLOSED. An `auth-required:` one is held and re-sent once after NIP-42.
    mutating func closed(_ sub: String, reason: RelayReason, canAuthenticate: Bool, at now: Duration) -> Closing {
        guard var rec = records[sub] else { return .unknown }
        if reason.prefix == .authRequired, canAuthenticate, !rec.authRetried {
            rec.authRetried = true
            rec.activeOn = nil
            rec.heldForAuthAt = now
            records[sub] = rec
            return .heldForAuth
        }
        var out: [Action] = [
            .log(.closedByRelay(sub, reason)),
            .push(.closed(reason), to: rec.handle),
            .finish(rec.handle),
        ]
        remove(sub, sendClose: false, at: now, into: &out)
        return .ended(out)
    }

    /// NIP-42 finished, however it went: held subscriptions go again.
    mutating func releaseHeld(at now: Duration) -> [Action] {
        var out: [Action] = []
        for key in Array(records.keys) where records[key]?.heldForAuthAt != nil {
            records[key]?.heldForAuthAt = nil
            sendREQ(key, at: now, into: &out)
        }
        return out
    }

    // MARK: time

    /// When the next query runs out of time for its EOSE or a held subscription for its NIP-42;
    /// nil when none waits (unlinked, nothing times out).
    var nextDeadline: Duration? {
        guard link != nil else { return nil }
        var next: Duration?
        func consider(_ d: Duration) { next = min(next ?? d, d) }
        for rec in records.values {
            if let sent = rec.reqSentAt, !rec.live, !rec.eoseDelivered { consider(sent + settings.eoseTimeout) }
            if let held = rec.heldForAuthAt { consider(held + settings.authTimeout) }
        }
        return next
    }

    /// A REQ sent on this connection still waits for its EOSE (live ones too): the relay owes an answer.
    var awaitsEOSE: Bool { link != nil && records.values.contains { $0.reqSentAt != nil } }

    /// Ends queries without an EOSE in time and subscriptions whose NIP-42 never completed.
    mutating func tick(at now: Duration) -> Tick {
        guard link != nil else { return Tick() }
        var out = Tick()
        out.backpressured = records.values.contains { $0.handle.buffer.isBackpressured }
        // Judged on the records as the tick found them, whatever ending one does to the others.
        for (id, rec) in records {
            if rec.reqSentAt != nil { out.awaitingEOSE = true }
            if let sent = rec.reqSentAt, !rec.live, !rec.eoseDelivered, now - sent >= settings.eoseTimeout {
                out.actions.append(.log(.eoseTimedOut(id)))
                out.actions.append(.push(.closed(RelayReason("error: no EOSE within \(settings.eoseTimeout)")), to: rec.handle))
                remove(id, sendClose: true, at: now, into: &out.actions)
            }
            if let held = rec.heldForAuthAt, now - held >= settings.authTimeout {
                out.actions.append(.push(.closed(RelayReason("auth-required: authentication did not complete")), to: rec.handle))
                remove(id, sendClose: false, at: now, into: &out.actions)
            }
        }
        return out
    }

    // MARK: wire

    private mutating func sendREQ(_ id: String, at now: Duration, into out: inout [Action]) {
        guard let generation = link, var rec = records[id], rec.heldForAuthAt == nil else { return }
        if let limit = maxActive, rec.activeOn == nil {
            let active = records.values.filter { $0.activeOn == generation }.count
            // Over the relay's limit: wait until another subscription ends.
            if active >= limit { return }
        }
        // A live subscription is re-issued as it was asked for: no `since` from the newest event
        // seen, since a date says nothing about when an event arrived (what a reconnect may have
        // missed is the caller's to reconcile).
        rec.activeOn = generation
        rec.reqSentAt = now
        rec.beforeEOSE = 0
        rec.awaitingEOSE = true
        records[id] = rec
        out.append(.send(.req(subscription: id, filters: rec.filters)))
    }

    private mutating func remove(_ id: String, sendClose: Bool, at now: Duration, into out: inout [Action]) {
        guard let rec = records.removeValue(forKey: id) else { return }
        if sendClose, let link, rec.activeOn == link {
            out.append(.send(.close(subscription: id)))
        }
        out.append(.finish(rec.handle))
        if maxActive != nil { resubscribeAll(at: now, into: &out) }
    }

    private mutating func resubscribeAll(at now: Duration, into out: inout [Action]) {
        guard let link else { return }
        let pending = records.values.filter { $0.activeOn != link }.sorted { $0.createdOrder < $1.createdOrder }
        for rec in pending { sendREQ(rec.handle.id, at: now, into: &out) }
    }
}
