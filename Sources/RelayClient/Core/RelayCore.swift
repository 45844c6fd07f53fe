import Foundation
import Logging
import NostrCore
import Synchronization

/// All mutable state of one relay: the lifecycle machine, subscriptions, the publish window,
/// authentication and counters. The connection task feeds it frames; the tick loop feeds it time.
actor RelayCore {
    enum PublishWaiter {
        case single(CheckedContinuation<PublishOutcome, Never>)
        case batch(BatchCollector)
    }

    final class BatchCollector {
        var remaining: Int
        var results: [String: PublishOutcome] = [:]
        let continuation: CheckedContinuation<[String: PublishOutcome], Never>

        init(remaining: Int, continuation: CheckedContinuation<[String: PublishOutcome], Never>) {
            self.remaining = remaining
            self.continuation = continuation
        }
    }

    struct SubscriptionRecord {
        let handle: SubscriptionHandle
        var filters: [Filter]
        let matcher: FilterMatcher
        let live: Bool
        /// Events received between the REQ and its EOSE: stored ones, which a live subscription
        /// with `limit: 0` should not get.
        var beforeEOSE = 0
        var awaitingEOSE = false
        var eoseDelivered = false
        var activeOn: Int?
        var reqSentAt: Duration?
        var recent: RecentIDs
        var authRetried = false
        var heldForAuthAt: Duration?
        let createdOrder: Int
    }

    nonisolated let configuration: RelayConfiguration
    nonisolated let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var random = SystemRandomNumberGenerator()

    private var machine: ConnectionStateMachine
    private var publishQueue: PublishQueue
    private var waiters: [String: [PublishWaiter]] = [:]
    private var subscriptions: [String: SubscriptionRecord] = [:]
    private var subscriptionCounter = 0

    private var outbound: Outbox?
    /// Tells the connection's read pacer how many EVENTs await OKs.
    private var replies: ReadPacer.Gauge?
    private var deflate = false
    private(set) var generation = 0
    private var lastFrameAt: Duration = .zero
    private var disconnectedSince: Duration?
    private var connectedSince: Date?
    private var running = false
    private var connectWaiters: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var connectWaiterCounter = 0
    private var expiredConnectWaiters: Set<Int> = []

    private var challenge: String?
    private var authEventID: String?
    private var authSentAt: Duration?
    private var authenticated = false
    /// With a key configured, EVENTs wait this long after connecting for the relay's challenge,
    /// so relays that refuse unauthenticated writes (nostr-relay says `restricted:`) see AUTH first.
    private var authGraceUntil: Duration?
    /// Messages received on the current connection, to tell a productive one from a flapping one.
    private var messagesThisConnection = 0
    private var authChallenged = false
    /// One-off request/answer exchanges (COUNT, NEG-OPEN probes) by subscription id.
    private var replyWaiters: [String: CheckedContinuation<RelayMessage?, Never>] = [:]
    /// Exchanges a NOTICE also answers: relays without NIP-77 often reply to NEG-OPEN with one.
    private var noticeAnswers: Set<String> = []
    static let productiveAfterMessages = 100

    private(set) var information: RelayInformation?
    private var informationAttempted = false

    private var eventsReceived = 0
    private var eventsSent = 0
    private var accepted = 0
    private var rejected = 0
    private var invalid = 0
    private var outOfRange = 0
    private var malformedFrames = 0
    private var noticeCount = 0
    private var reqToEOSE = LatencySamples()
    private var eventToOK = LatencySamples()
    private var pingRoundTrip = LatencySamples()
    private var lastError: String?
    private var killReason: String?
    /// A liveness probe (a REQ that matches nothing) sent when OKs are overdue and the relay is silent.
    private var probeSentAt: Duration?
    private var probeID: String?

    init(configuration: RelayConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "relay.url"] = .string(configuration.url)
        self.logger = logger
        self.origin = clock.now
        self.machine = ConnectionStateMachine(settings: .init(
            backoffInitial: configuration.backoffInitial,
            backoffCap: configuration.backoffCap,
            stableAfter: configuration.stableAfter))
        self.publishQueue = PublishQueue(settings: .init(
            window: configuration.publishWindow,
            okTimeout: configuration.okTimeout,
            rateLimitRetries: configuration.rateLimitRetries,
            notConnectedAfter: configuration.notConnectedAfter))
    }

    private var now: Duration { clock.now - origin }

    // MARK: lifecycle

    /// Starts the machine; false when already running or terminated.
    func begin() -> ConnectionStateMachine.Action? {
        guard !running, machine.state == .disconnected else { return nil }
        running = true
        disconnectedSince = now
        return machine.start(at: now)
    }

    var state: ConnectionState { machine.state }

    func backoffElapsed() -> ConnectionStateMachine.Action {
        machine.backoffElapsed()
    }

    /// The WebSocket is up: returns the generation its frames must carry.
    func opened(outbound: Outbox, deflate: Bool, replies: ReadPacer.Gauge) -> Int? {
        guard machine.state == .connecting else {
            outbound.finish()
            return nil
        }
        _ = machine.connected(at: now)
        generation += 1
        self.outbound = outbound
        self.deflate = deflate
        self.replies = replies
        lastFrameAt = now
        disconnectedSince = nil
        connectedSince = Date()
        killReason = nil
        authGraceUntil = configuration.authKey == nil ? nil : now + configuration.authChallengeWait
        messagesThisConnection = 0
        logger.debug("relay.connected", metadata: ["relay.generation": "\(generation)"])
        for (_, w) in connectWaiters { w.resume(returning: true) }
        connectWaiters = [:]
        resubscribeAll()
        pump()
        return generation
    }

    /// The connection (or the attempt) ended; returns what to do next.
    func ended(error: (any Error)?) -> ConnectionStateMachine.Action {
        let wasOpen = machine.state.isOpen
        outbound?.finish()
        outbound = nil
        deflate = false
        let lost = publishQueue.connectionLost()
        deliver(lost.resolutions)
        for key in Array(subscriptions.keys) {
            subscriptions[key]?.activeOn = nil
            subscriptions[key]?.reqSentAt = nil
        }
        // An exchange cannot be answered on a connection that is gone: its waiter learns now.
        for sub in Array(replyWaiters.keys) { cancelReply(sub) }
        challenge = nil
        authEventID = nil
        authSentAt = nil
        authenticated = false
        probeID = nil
        probeSentAt = nil
        connectedSince = nil
        if disconnectedSince == nil { disconnectedSince = now }
        let reason = killReason ?? error.map { "\($0)" } ?? (wasOpen ? "closed by relay" : "connection failed")
        lastError = reason
        killReason = nil
        let action = machine.connectionEnded(at: now, random: &random, productive: messagesThisConnection >= Self.productiveAfterMessages)
        if case let .backOff(delay, level) = action {
            logger.log(level: level, "relay.disconnected", metadata: [
                "relay.error": .string(reason),
                "relay.failures": "\(machine.failures)",
                "relay.retry_in_ms": "\(Int(delay.milliseconds))",
            ])
        }
        return action
    }

    /// Stops for good: subscriptions end, pending publishes fail, the connection closes.
    func shutdown() {
        guard machine.state != .terminated else { return }
        _ = machine.shutdown(at: now)
        outbound?.finish()
        outbound = nil
        for (_, rec) in subscriptions {
            rec.handle.buffer.pushNow(.closed(RelayReason("error: relay client shut down")))
            rec.handle.buffer.finish()
        }
        subscriptions = [:]
        var fx = publishQueue.connectionLost()
        fx.resolutions += publishQueue.tick(at: now + configuration.notConnectedAfter * 2, sinceLastFrame: nil, disconnectedFor: configuration.notConnectedAfter).resolutions
        deliver(fx.resolutions)
        for (_, w) in connectWaiters { w.resume(returning: false) }
        connectWaiters = [:]
        logger.debug("relay.terminated")
    }

    /// Closes the current connection because it is dead or misbehaving.
    func kill(_ reason: String) {
        guard let outbound else { return }
        killReason = reason
        logger.info("relay.connection.replaced", metadata: ["relay.reason": .string(reason)])
        outbound.finish()
        self.outbound = nil
    }

    var isOpen: Bool { machine.state.isOpen }

    /// Not started yet, or started and never connected: callers wait a little for the first connection.
    var needsFirstConnection: Bool { machine.state != .terminated && !machine.everConnected }

    func newConnectWaiterID() -> Int {
        connectWaiterCounter += 1
        return connectWaiterCounter
    }

    /// Returns true once connected, false on shutdown or when `expireConnectWaiter` ran first.
    func waitForConnection(id: Int) async -> Bool {
        if machine.state.isOpen { return true }
        if machine.state == .terminated || expiredConnectWaiters.remove(id) != nil { return false }
        return await withCheckedContinuation { c in
            connectWaiters[id] = c
        }
    }

    func expireConnectWaiter(id: Int) {
        if let w = connectWaiters.removeValue(forKey: id) {
            w.resume(returning: machine.state.isOpen)
        } else {
            expiredConnectWaiters.insert(id)
        }
    }

    // MARK: sending

    private func send(_ text: String) {
        outbound?.yield(text)
    }

    private func pump() {
        guard outbound != nil, machine.state.isOpen, !holdingForAuth else { return }
        for event in publishQueue.takeSendable(at: now) {
            eventsSent += 1
            send(event.message)
        }
        replies?.set(awaitingReplies: publishQueue.inFlight.count)
    }

    // MARK: inbound

    /// Routes one verified-or-not event; returns the buffer to push it into, nil when dropped.
    func route(subscription: String, event: Event, verification: EventVerification, generation gen: Int) -> SubscriptionHandle? {
        guard gen == generation else { return nil }
        messagesThisConnection += 1
        lastFrameAt = now
        eventsReceived += 1
        // The record is read and changed in place: a copy would copy its id set on every event.
        guard let handle = subscriptions[subscription]?.handle else { return nil }
        handle.rawCount.withLock { $0 += 1 }
        guard verification.isValid else {
            invalid += 1
            if invalid <= 20 || invalid % 1000 == 0 {
                logger.warning("relay.event.invalid", metadata: [
                    "event.id": .string(event.id), "relay.reason": .string(verification.reason), "relay.invalid_total": "\(invalid)",
                ])
            }
            return nil
        }
        guard subscriptions[subscription]!.matcher.matches(event) else {
            outOfRange += 1
            if outOfRange <= 20 || outOfRange % 1000 == 0 {
                logger.info("relay.event.out-of-range", metadata: ["event.id": .string(event.id), "relay.subscription": .string(subscription)])
            }
            return nil
        }
        guard subscriptions[subscription]!.recent.insert(event.id) else { return nil }
        if subscriptions[subscription]!.awaitingEOSE { subscriptions[subscription]!.beforeEOSE += 1 }
        return handle
    }

    func malformed(_ error: MessageDecodingError, generation gen: Int) {
        guard gen == generation else { return }
        lastFrameAt = now
        if case let .invalidEvent(sub?, why) = error {
            // A well-formed frame with an unreadable event: it counts against the subscription's cap.
            invalid += 1
            subscriptions[sub]?.handle.rawCount.withLock { $0 += 1 }
            if invalid <= 20 || invalid % 1000 == 0 {
                logger.warning("relay.event.unparseable", metadata: ["relay.subscription": .string(sub), "relay.reason": .string("\(why)")])
            }
            return
        }
        malformedFrames += 1
        if malformedFrames <= 20 || malformedFrames % 1000 == 0 {
            logger.warning("relay.frame.malformed", metadata: ["relay.reason": .string("\(error)"), "relay.malformed_total": "\(malformedFrames)"])
        }
    }

    func pingAnswered(_ roundTrip: Duration, generation gen: Int) {
        guard gen == generation else { return }
        lastFrameAt = now
        pingRoundTrip.add(roundTrip)
    }

    func handle(_ message: RelayMessage, generation gen: Int) {
        if gen == generation { messagesThisConnection += 1 }
        guard gen == generation else { return }
        lastFrameAt = now
        switch message {
        case let .ok(id, ok, reason):
            if let authID = authEventID, id == authID || (id.isEmpty && publishQueue.inFlight.isEmpty) {
                authAnswered(accepted: ok, reason: reason)
                return
            }
            let fx = publishQueue.receivedOK(eventID: id, accepted: ok, reason: reason, at: now, canAuthenticate: configuration.authKey != nil)
            if let latency = fx.latency { eventToOK.add(latency) }
            if fx.unmatched {
                logger.debug("relay.ok.unmatched", metadata: ["event.id": .string(id)])
            }
            deliver(fx.resolutions)
            if fx.needsAuth { ensureAuthenticated() }
            pump()
        case let .eose(sub):
            eose(sub)
        case let .closed(sub, reason):
            if replyWaiters[sub] != nil { answerWaiter(sub, message); return }
            closed(sub, reason: reason)
        case let .notice(text):
            for sub in noticeAnswers { answerWaiter(sub, message) }
            noticeCount += 1
            if noticeCount <= 20 || noticeCount % 1000 == 0 {
                logger.info("relay.notice", metadata: ["relay.notice": .string(String(text.prefix(300)))])
            }
        case let .auth(c):
            challenge = c
            authChallenged = true
            if configuration.authKey != nil { sendAuth() }
        case let .count(sub, _, _), let .negMsg(sub, _), let .negErr(sub, _):
            answerWaiter(sub, message)
        case .event:
            break
        }
    }

    /// Sends `message` and returns the first COUNT, NEG-MSG, NEG-ERR or CLOSED naming
    /// `subscription`; nil if the connection is down or `cancelReply` comes first.
    func awaitReply(_ message: ClientMessage, subscription: String, noticeAnswers acceptsNotice: Bool = false) async -> RelayMessage? {
        guard outbound != nil, machine.state.isOpen else { return nil }
        return await withCheckedContinuation { continuation in
            replyWaiters[subscription]?.resume(returning: nil)
            replyWaiters[subscription] = continuation
            if acceptsNotice { noticeAnswers.insert(subscription) }
            send(message.encoded)
        }
    }

    func cancelReply(_ subscription: String) {
        noticeAnswers.remove(subscription)
        replyWaiters.removeValue(forKey: subscription)?.resume(returning: nil)
    }

    private func answerWaiter(_ subscription: String, _ message: RelayMessage) {
        noticeAnswers.remove(subscription)
        replyWaiters.removeValue(forKey: subscription)?.resume(returning: message)
    }

    /// Sends a message that expects no answer (NEG-CLOSE); dropped when not connected.
    func sendOneOff(_ message: ClientMessage) {
        guard outbound != nil, machine.state.isOpen else { return }
        send(message.encoded)
    }

    private func sendProbe() {
        let id = "rsprobe" + String(UInt32.random(in: .min ... .max), radix: 36)
        probeID = id
        probeSentAt = now
        send(ClientMessage.req(subscription: id, filters: [Filter(ids: [String(repeating: "0", count: 64)], limit: 1)]).encoded)
    }

    /// The probe came back: the connection is alive.
    private func probeAnswered(_ sub: String, close: Bool) -> Bool {
        guard sub == probeID else { return false }
        probeID = nil
        probeSentAt = nil
        if close { send(ClientMessage.close(subscription: sub).encoded) }
        return true
    }

    private func eose(_ sub: String) {
        if probeAnswered(sub, close: true) { return }
        guard var rec = subscriptions[sub] else { return }
        if let sent = rec.reqSentAt {
            reqToEOSE.add(now - sent)
            rec.reqSentAt = nil
        }
        rec.awaitingEOSE = false
        if rec.live {
            if rec.beforeEOSE > 0, rec.filters.allSatisfy({ $0.limit == 0 }) {
                // The relay ignores `limit: 0` and sent its stored events first (nostr-relay does);
                // `limit: 1` bounds that to one event per filter on the next reconnect.
                logger.notice("relay.live.ignores-limit-zero", metadata: ["relay.subscription": .string(sub), "relay.stored_events": "\(rec.beforeEOSE)"])
                rec.filters = rec.filters.map { f in var g = f; g.limit = 1; return g }
            }
            if !rec.eoseDelivered {
                rec.eoseDelivered = true
                rec.handle.buffer.pushNow(.endOfStoredEvents)
            }
            subscriptions[sub] = rec
        } else {
            rec.handle.buffer.pushNow(.endOfStoredEvents)
            rec.handle.buffer.finish()
            remove(sub, sendClose: true)
        }
    }

    private func closed(_ sub: String, reason: RelayReason) {
        if probeAnswered(sub, close: false) { return }
        guard var rec = subscriptions[sub] else { return }
        if reason.prefix == .authRequired, configuration.authKey != nil, !rec.authRetried {
            rec.authRetried = true
            rec.activeOn = nil
            rec.heldForAuthAt = now
            subscriptions[sub] = rec
            ensureAuthenticated()
            return
        }
        logger.info("relay.subscription.closed", metadata: ["relay.subscription": .string(sub), "relay.reason": .string(reason.raw)])
        rec.handle.buffer.pushNow(.closed(reason))
        rec.handle.buffer.finish()
        remove(sub, sendClose: false)
    }

    // MARK: authentication (NIP-42)

    private func sendAuth() {
        guard let key = configuration.authKey, let challenge, outbound != nil else { return }
        do {
            let event = try key.sign(kind: 22242, content: "", tags: [["relay", configuration.url], ["challenge", challenge]], createdAt: Int64(Date().timeIntervalSince1970))
            authEventID = event.id
            authSentAt = now
            machine.authenticationStarted()
            logger.debug("relay.auth.sent", metadata: ["event.id": .string(event.id)])
            send(ClientMessage.auth(event).encoded)
        } catch {
            logger.error("relay.auth.sign-failed", metadata: ["relay.reason": .string("\(error)")])
        }
    }

    private var holdingForAuth: Bool {
        guard configuration.authKey != nil, !authenticated else { return false }
        if authSentAt != nil { return true }
        return challenge == nil && authGraceUntil.map { now < $0 } ?? false
    }

    private func ensureAuthenticated() {
        guard configuration.authKey != nil, authEventID == nil else { return }
        // Without a challenge yet, the relay's AUTH message will trigger it.
        if challenge != nil { sendAuth() }
    }

    private func authAnswered(accepted ok: Bool, reason: RelayReason) {
        if ok {
            authenticated = true
            logger.debug("relay.auth.accepted")
        } else {
            logger.warning("relay.auth.rejected", metadata: ["relay.reason": .string(reason.raw)])
        }
        authFinished()
    }

    /// Whatever the answer (nostr-relay sends none), held work goes again once; a second
    /// `auth-required:` then becomes the final outcome.
    private func authFinished() {
        authEventID = nil
        authSentAt = nil
        machine.authenticationFinished()
        publishQueue.authenticated()
        for key in Array(subscriptions.keys) where subscriptions[key]?.heldForAuthAt != nil {
            subscriptions[key]?.heldForAuthAt = nil
            sendREQ(key)
        }
        pump()
    }

    // MARK: subscriptions

    nonisolated func makeSubscriptionID() -> String {
        "rs" + String(UInt32.random(in: .min ... .max), radix: 36)
    }

    func register(_ handle: SubscriptionHandle, filters: [Filter], live: Bool) {
        guard !handle.buffer.isFinished else { return }
        if machine.state == .terminated {
            handle.buffer.pushNow(.closed(RelayReason("error: relay client shut down")))
            handle.buffer.finish()
            return
        }
        subscriptionCounter += 1
        subscriptions[handle.id] = SubscriptionRecord(
            handle: handle, filters: filters, matcher: FilterMatcher(filters), live: live,
            recent: RecentIDs(capacity: max(configuration.subscriptionBuffer * 4, 10_000)),
            createdOrder: subscriptionCounter)
        sendREQ(handle.id)
    }

    func cancelSubscription(_ id: String) {
        guard subscriptions[id] != nil else { return }
        remove(id, sendClose: true)
    }

    private var activeSubscriptionLimit: Int? { information?.limitation.maxSubscriptions.flatMap { $0 > 0 ? $0 : nil } }

    private func sendREQ(_ id: String) {
        guard var rec = subscriptions[id], outbound != nil, machine.state.isOpen, rec.heldForAuthAt == nil else { return }
        if let limit = activeSubscriptionLimit, rec.activeOn == nil {
            let active = subscriptions.values.filter { $0.activeOn == generation }.count
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
        subscriptions[id] = rec
        send(ClientMessage.req(subscription: id, filters: rec.filters).encoded)
    }

    private func remove(_ id: String, sendClose: Bool) {
        guard let rec = subscriptions.removeValue(forKey: id) else { return }
        if sendClose, rec.activeOn == generation, outbound != nil {
            send(ClientMessage.close(subscription: id).encoded)
        }
        rec.handle.buffer.finish()
        if activeSubscriptionLimit != nil { resubscribeAll() }
    }

    private func resubscribeAll() {
        let pending = subscriptions.values.filter { $0.activeOn != generation }.sorted { $0.createdOrder < $1.createdOrder }
        for rec in pending { sendREQ(rec.handle.id) }
    }

    // MARK: publishing

    func publish(_ event: OutboundEvent) async -> PublishOutcome {
        if let early = refuse(event) { return early }
        return await withCheckedContinuation { c in
            waiters[event.id, default: []].append(.single(c))
            publishQueue.enqueue(event)
            pump()
        }
    }

    func publish(_ events: [OutboundEvent]) async -> [String: PublishOutcome] {
        var results: [String: PublishOutcome] = [:]
        var toSend: [OutboundEvent] = []
        var ids = Set<String>()
        for e in events where ids.insert(e.id).inserted {
            if let early = refuse(e) { results[e.id] = early } else { toSend.append(e) }
        }
        if toSend.isEmpty { return results }
        let sent = await withCheckedContinuation { c in
            let collector = BatchCollector(remaining: toSend.count, continuation: c)
            for e in toSend {
                waiters[e.id, default: []].append(.batch(collector))
                publishQueue.enqueue(e)
            }
            pump()
        }
        return results.merging(sent) { a, _ in a }
    }

    private func refuse(_ event: OutboundEvent) -> PublishOutcome? {
        if !running || machine.state == .terminated { return .notConnected }
        if let max = information?.limitation.maxMessageLength, max > 0, event.rawJSON.utf8.count + 12 > max {
            return .rejected(RelayReason("invalid: event larger than the relay's max_message_length \(max)"))
        }
        return nil
    }

    private func deliver(_ resolutions: [PublishQueue.Resolution]) {
        for r in resolutions {
            switch r.outcome {
            case .accepted, .duplicate: accepted += 1
            case .rejected, .rateLimited, .authRequired:
                rejected += 1
                logger.debug("relay.publish.refused", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            case .timedOut, .notConnected:
                logger.info("relay.publish.failed", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            }
            guard let list = waiters.removeValue(forKey: r.id) else { continue }
            for w in list {
                switch w {
                case let .single(c):
                    c.resume(returning: r.outcome)
                case let .batch(collector):
                    collector.results[r.id] = r.outcome
                    collector.remaining -= 1
                    if collector.remaining == 0 { collector.continuation.resume(returning: collector.results) }
                }
            }
        }
    }

    // MARK: time

    /// Called every few hundred milliseconds by `run()`; returns how long to wait until the next tick.
    func tick() -> Duration {
        let t = now
        if outbound != nil, machine.state.isOpen {
            let silent = t - lastFrameAt
            let fx = publishQueue.tick(at: t, sinceLastFrame: silent, disconnectedFor: nil)
            deliver(fx.resolutions)
            if fx.stalled {
                // Silent with OKs overdue: a stalled connection, or a relay ignoring those events?
                // A cheap REQ tells them apart; only a connection that cannot answer it is replaced.
                if let sent = probeSentAt {
                    if t - sent >= configuration.okTimeout {
                        kill("no OK, no frame and no answer to a probe for \(configuration.okTimeout) with events in flight")
                        return .milliseconds(100)
                    }
                } else {
                    sendProbe()
                }
            }
            let backpressured = subscriptions.values.contains { $0.handle.buffer.isBackpressured }
            var awaitingEOSE = false
            for (id, rec) in subscriptions {
                if let sent = rec.reqSentAt, !rec.live, !rec.eoseDelivered {
                    awaitingEOSE = true
                    if t - sent >= configuration.eoseTimeout {
                        logger.info("relay.subscription.eose-timeout", metadata: ["relay.subscription": .string(id)])
                        rec.handle.buffer.pushNow(.closed(RelayReason("error: no EOSE within \(configuration.eoseTimeout)")))
                        remove(id, sendClose: true)
                    }
                } else if rec.reqSentAt != nil {
                    awaitingEOSE = true
                }
                if let held = rec.heldForAuthAt, t - held >= configuration.okTimeout {
                    rec.handle.buffer.pushNow(.closed(RelayReason("auth-required: authentication did not complete")))
                    remove(id, sendClose: false)
                }
            }
            if !backpressured, silent >= configuration.deadAfter, awaitingEOSE || !publishQueue.inFlight.isEmpty {
                kill("no frame for \(configuration.deadAfter) with requests pending")
                return .milliseconds(100)
            }
            if let sentAt = authSentAt, t - sentAt >= .milliseconds(1500) {
                // nostr-relay never answers AUTH: carry on as if it had.
                authFinished()
            }
            pump()
        } else {
            let fx = publishQueue.tick(at: t, sinceLastFrame: nil, disconnectedFor: disconnectedSince.map { t - $0 })
            deliver(fx.resolutions)
        }
        let pacing = publishQueue.pacing
        if pacing > .zero, !publishQueue.isIdle { return max(.milliseconds(5), min(pacing, .milliseconds(100))) }
        return .milliseconds(100)
    }

    // MARK: information

    func setInformation(_ info: RelayInformation?) {
        informationAttempted = true
        if let info { information = info }
    }

    var hasAttemptedInformation: Bool { informationAttempted }

    // MARK: health

    func health() -> RelayHealth {
        RelayHealth(
            url: configuration.url,
            state: machine.state,
            connectedSince: connectedSince,
            uptimeRatio: machine.uptimeRatio(at: now),
            reconnects: machine.reconnects,
            latency: .init(reqToEOSE: reqToEOSE.stat, eventToOK: eventToOK.stat, ping: pingRoundTrip.stat),
            eventsReceived: eventsReceived,
            eventsSent: eventsSent,
            accepted: accepted,
            rejected: rejected,
            invalid: invalid,
            outOfRange: outOfRange,
            malformedFrames: malformedFrames,
            pacingMs: publishQueue.pacing.milliseconds,
            oneAtATime: publishQueue.oneAtATime,
            authenticated: authenticated,
            authChallenged: authChallenged,
            deflate: deflate,
            lastError: lastError)
    }
}
