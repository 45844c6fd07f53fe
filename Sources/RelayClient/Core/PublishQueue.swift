import DequeModule
import NostrCore

/// Events waiting for, or awaiting, a relay's OK: a bounded window matched by id, with the
/// fallbacks that keep a misbehaving relay from wedging it. A value type without I/O; the
/// relay core feeds it answers and clock ticks and sends what it hands out.
struct PublishQueue: Sendable {
    struct Settings: Sendable {
        var window: Int
        var okTimeout: Duration
        var rateLimitRetries: Int
        var notConnectedAfter: Duration
        /// An event whose OK never comes is re-sent alone this many times before `.timedOut`.
        var timeoutRetries = 1
        /// Re-sends caused by lost connections before giving up.
        var connectionResends = 4
        /// OKs matched by id in a row before leaving one-at-a-time mode.
        var recoveryStreak = 50
    }

    struct Item: Sendable {
        let event: OutboundEvent
        /// Enqueue order, so events sent together are re-sent in the order given.
        var order = 0
        var sentAt: Duration?
        var timeouts = 0
        var resends = 0
        var rateLimited = 0
        var authRetried = false
        var heldAt: Duration?
        var lastReason: RelayReason?
    }

    struct Resolution: Sendable, Equatable {
        let id: String
        let outcome: PublishOutcome
    }

    struct Effects: Sendable {
        var resolutions: [Resolution] = []
        /// EVENT→OK round trip of a matched answer.
        var latency: Duration?
        /// Some event needs NIP-42 authentication before it is re-sent.
        var needsAuth = false
        /// Nothing has come from the relay for an OK timeout while OKs are overdue.
        var stalled = false
        /// An OK for an event not in flight (late, or not ours).
        var unmatched = false
    }

    let settings: Settings
    private var retry: Deque<Item> = []
    private var waiting: Deque<Item> = []
    private(set) var inFlight: [String: Item] = [:]
    private var enqueued = 0
    private var held: [Item] = []
    private var pendingIDs: Set<String> = []
    /// Empty-id OKs not yet tied to an event.
    private var unattributed: [(accepted: Bool, reason: RelayReason)] = []
    private(set) var oneAtATime = false
    private var streak = 0
    private(set) var pacing: Duration = .zero
    private var nextSendAt: Duration = .zero

    init(settings: Settings) { self.settings = settings }

    var pendingCount: Int { pendingIDs.count }
    var isIdle: Bool { pendingIDs.isEmpty }
    var oldestInFlightSentAt: Duration? { inFlight.values.lazy.compactMap(\.sentAt).min() }

    /// Queues an event; false when the same id is already pending (the caller just waits).
    @discardableResult
    mutating func enqueue(_ event: Event) -> Bool {
        enqueue(OutboundEvent(event))
    }

    @discardableResult
    mutating func enqueue(_ event: OutboundEvent) -> Bool {
        guard pendingIDs.insert(event.id).inserted else { return false }
        enqueued += 1
        waiting.append(Item(event: event, order: enqueued))
        return true
    }

    /// Events to send now, within the window and the pacing. A window with events in flight
    /// is refilled a quarter at a time, so sends go out in bursts rather than one per OK
    /// (one wake-up of the writer per burst instead of per event).
    mutating func takeSendable(at now: Duration) -> [OutboundEvent] {
        var out: [OutboundEvent] = []
        let limit = oneAtATime ? 1 : max(1, settings.window)
        guard inFlight.isEmpty || limit - inFlight.count >= max(1, limit / 4) else { return out }
        while inFlight.count < limit, now >= nextSendAt, var item = popNext() {
            item.sentAt = now
            inFlight[item.event.id] = item
            out.append(item.event)
            if pacing > .zero {
                nextSendAt = now + pacing
                break
            }
        }
        return out
    }

    private mutating func popNext() -> Item? {
        retry.popFirst() ?? waiting.popFirst()
    }

    mutating func receivedOK(eventID: String, accepted: Bool, reason: RelayReason, at now: Duration, canAuthenticate: Bool) -> Effects {
        var fx = Effects()
        if eventID.isEmpty {
            if inFlight.count == 1, let only = inFlight.first?.value {
                inFlight.removeValue(forKey: only.event.id)
                if let s = only.sentAt { fx.latency = now - s }
                apply(only, accepted: accepted, reason: reason, at: now, canAuthenticate: canAuthenticate, into: &fx)
            } else {
                // Cannot tell which event this answers: go one at a time so the next one can be.
                unattributed.append((accepted, reason))
                oneAtATime = true
                streak = 0
                attributeIfDetermined(at: now, canAuthenticate: canAuthenticate, into: &fx)
            }
            return fx
        }
        guard let item = inFlight.removeValue(forKey: eventID) else {
            fx.unmatched = true
            return fx
        }
        if let s = item.sentAt { fx.latency = now - s }
        if oneAtATime, unattributed.isEmpty {
            streak += 1
            if streak >= settings.recoveryStreak { oneAtATime = false; streak = 0 }
        }
        apply(item, accepted: accepted, reason: reason, at: now, canAuthenticate: canAuthenticate, into: &fx)
        attributeIfDetermined(at: now, canAuthenticate: canAuthenticate, into: &fx)
        return fx
    }

    /// When every event still in flight is explained by an id-less answer and those answers
    /// agree, they can be attributed without waiting for timeouts.
    private mutating func attributeIfDetermined(at now: Duration, canAuthenticate: Bool, into fx: inout Effects) {
        guard !unattributed.isEmpty else { return }
        if inFlight.isEmpty { unattributed = []; return }
        guard inFlight.count == unattributed.count,
            let first = unattributed.first,
            unattributed.allSatisfy({ $0.accepted == first.accepted && $0.reason == first.reason })
        else { return }
        let items = inFlight.values.sorted { ($0.sentAt ?? .zero, $0.order) < ($1.sentAt ?? .zero, $1.order) }
        inFlight = [:]
        unattributed = []
        for item in items {
            apply(item, accepted: first.accepted, reason: first.reason, at: now, canAuthenticate: canAuthenticate, into: &fx)
        }
    }

    private mutating func apply(_ item: Item, accepted: Bool, reason: RelayReason, at now: Duration, canAuthenticate: Bool, into fx: inout Effects) {
        var item = item
        item.sentAt = nil
        item.lastReason = reason
        let outcome = PublishOutcome(accepted: accepted, reason: reason)
        switch outcome {
        case .rateLimited:
            // Slow this relay down; the event goes again after the pause.
            pacing = min(max(pacing * 2, .milliseconds(50)), .seconds(5))
            nextSendAt = now + pacing
            if item.rateLimited < settings.rateLimitRetries {
                item.rateLimited += 1
                retry.append(item)
                return
            }
        case .authRequired:
            if canAuthenticate, !item.authRetried {
                item.authRetried = true
                item.heldAt = now
                held.append(item)
                fx.needsAuth = true
                return
            }
        case .accepted, .duplicate:
            if pacing > .zero {
                pacing = .milliseconds(pacing.milliseconds * 0.95)
                if pacing < .milliseconds(2) { pacing = .zero }
            }
        default:
            break
        }
        resolve(item, outcome, into: &fx)
    }

    private mutating func resolve(_ item: Item, _ outcome: PublishOutcome, into fx: inout Effects) {
        pendingIDs.remove(item.event.id)
        fx.resolutions.append(Resolution(id: item.event.id, outcome: outcome))
    }

    /// Timeouts. `sinceLastFrame` is how long the connection has been silent; nil when there is
    /// no connection, `disconnectedFor` then says for how long.
    mutating func tick(at now: Duration, sinceLastFrame: Duration?, disconnectedFor: Duration?) -> Effects {
        var fx = Effects()
        if let silent = sinceLastFrame {
            let overdue = inFlight.values.filter { ($0.sentAt.map { now - $0 >= settings.okTimeout }) ?? false }
            if !overdue.isEmpty {
                if silent >= settings.okTimeout {
                    // Nothing at all comes back: the connection is stalled, not the answer lost.
                    fx.stalled = true
                } else {
                    oneAtATime = true
                    streak = 0
                    for var item in overdue.sorted(by: { ($0.sentAt ?? .zero) < ($1.sentAt ?? .zero) }) {
                        inFlight.removeValue(forKey: item.event.id)
                        item.sentAt = nil
                        item.timeouts += 1
                        if item.timeouts > settings.timeoutRetries {
                            resolve(item, .timedOut, into: &fx)
                        } else {
                            retry.append(item)
                        }
                    }
                    // An id-less answer may have been for one of these: it will be asked again alone.
                    if inFlight.isEmpty { unattributed = [] }
                }
            }
        } else if let down = disconnectedFor, down >= settings.notConnectedAfter {
            for item in Array(retry) + Array(waiting) + Array(inFlight.values) + held {
                resolve(item, .notConnected, into: &fx)
            }
            retry = []; waiting = []; inFlight = [:]; held = []
        }
        var stillHeld: [Item] = []
        for item in held {
            if let at = item.heldAt, now - at >= settings.okTimeout {
                resolve(item, .authRequired(item.lastReason ?? RelayReason("auth-required: no challenge")), into: &fx)
            } else {
                stillHeld.append(item)
            }
        }
        held = stillHeld
        return fx
    }

    /// When time alone next changes something: an OK falls due, a held event's NIP-42 runs out, the
    /// pacing lets the next event go, or (without a connection since `disconnectedSince`) waiting
    /// events are failed as not connected. Nil when only a message can.
    func nextDeadline(disconnectedSince: Duration?) -> Duration? {
        var next = held.compactMap { $0.heldAt.map { $0 + settings.okTimeout } }.min()
        func consider(_ d: Duration?) { if let d { next = min(next ?? d, d) } }
        if let down = disconnectedSince {
            if !pendingIDs.isEmpty { consider(down + settings.notConnectedAfter) }
        } else {
            consider(oldestInFlightSentAt.map { $0 + settings.okTimeout })
            if pacing > .zero, !waiting.isEmpty || !retry.isEmpty { consider(nextSendAt) }
        }
        return next
    }

    /// When pacing next lets an event go, if any waits.
    var nextSendDue: Duration? { pacing > .zero && (!waiting.isEmpty || !retry.isEmpty) ? nextSendAt : nil }

    /// The connection went away: whatever was in flight is sent again on the next one.
    mutating func connectionLost() -> Effects {
        var fx = Effects()
        let items = inFlight.values.sorted { ($0.sentAt ?? .zero, $0.order) < ($1.sentAt ?? .zero, $1.order) }
        inFlight = [:]
        unattributed = []
        nextSendAt = .zero
        var again: [Item] = []
        for var item in items {
            item.sentAt = nil
            item.resends += 1
            if item.resends > settings.connectionResends {
                resolve(item, .timedOut, into: &fx)
            } else {
                again.append(item)
            }
        }
        // Timeouts seen on a connection that then died were most likely its doing, not the
        // events': they start the next connection with a fresh allowance (resends stay bounded).
        retry = Deque(
            (again + retry).map {
                var i = $0; i.timeouts = 0; return i
            })
        return fx
    }

    /// Authentication went through: held events go again.
    mutating func authenticated() {
        retry.append(
            contentsOf: held.map {
                var i = $0; i.heldAt = nil; return i
            })
        held = []
    }

    var hasHeldForAuth: Bool { !held.isEmpty }
}
