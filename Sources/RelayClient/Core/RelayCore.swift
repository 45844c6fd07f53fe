import Foundation
import Logging
import NostrCore

/// One relay's mutable state, as values that decide (`ConnectionStateMachine`, `PublishQueue`,
/// `SubscriptionTable`, `AuthState`, `LivenessProbe`, `RelayCounters`) and the waiters they
/// release. The actor feeds them frames and time and carries out what they return; it is the
/// only place that writes to the connection.
actor RelayCore {
    nonisolated let configuration: RelayConfiguration
    nonisolated let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var random = SystemRandomNumberGenerator()

    private var machine: ConnectionStateMachine
    private var publishQueue: PublishQueue
    private var subscriptions: SubscriptionTable
    private var auth: AuthState
    private var probe: LivenessProbe
    private var counters = RelayCounters()
    private var waiters = RelayWaiters()

    private var outbound: Outbox?
    /// Tells the connection's read pacer how many EVENTs await OKs.
    private var replies: ReadPacer.Gauge?
    private var deflate = false
    private(set) var generation = 0
    private var lastFrameAt: Duration = .zero
    private var disconnectedSince: Duration?
    /// Why the last attempt to open the WebSocket failed; cleared when one opens.
    private(set) var lastConnectionError: RelayConnectionError?
    private var connectedSince: Date?
    private var running = false
    private var killReason: String?

    private(set) var information: RelayInformation?
    private(set) var hasAttemptedInformation = false

    /// Rings the timer loop (`Relay.tickLoop`) awake before the deadline it sleeps until.
    nonisolated let alarm = TickAlarm()
    /// When the timer loop runs next; nil while it sleeps until rung.
    private var scheduled: Duration?
    /// In `tick()`, which works out the next deadline itself: no ring needed.
    private var ticking = false
    /// Whoever follows `connectionChanges()`.
    private var changeFollowers: [Int: AsyncStream<ConnectionChange>.Continuation] = [:]
    private var lastFollowerID = 0
    /// The shortest wait any state machine keeps: something that just started may fall due this soon.
    private let quickest: Duration

    init(configuration: RelayConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "relay.url"] = .string(configuration.url)
        self.logger = logger
        self.origin = clock.now
        self.machine = ConnectionStateMachine(
            settings: .init(
                backoffInitial: configuration.backoffInitial,
                backoffCap: configuration.backoffCap,
                stableAfter: configuration.stableAfter))
        self.publishQueue = PublishQueue(
            settings: .init(
                window: configuration.publishWindow,
                okTimeout: configuration.okTimeout,
                rateLimitRetries: configuration.rateLimitRetries,
                notConnectedAfter: configuration.notConnectedAfter))
        self.subscriptions = SubscriptionTable(
            settings: .init(
                eoseTimeout: configuration.eoseTimeout,
                authTimeout: configuration.okTimeout,
                recentIDs: max(configuration.subscriptionBuffer * 4, 10_000)))
        let authSettings = AuthState.Settings(keyCount: configuration.authKeys.count, challengeWait: configuration.authChallengeWait)
        self.auth = AuthState(settings: authSettings)
        self.probe = LivenessProbe(settings: .init(answerWithin: configuration.okTimeout, deadAfter: configuration.deadAfter))
        self.quickest =
            [
                configuration.okTimeout, configuration.eoseTimeout, configuration.deadAfter, configuration.authChallengeWait,
                configuration.notConnectedAfter, authSettings.answerWait,
            ].min() ?? .milliseconds(100)
    }

    private var now: Duration { clock.now - origin }

    // MARK: lifecycle

    /// Starts the machine; nil when already running or terminated.
    func begin() -> ConnectionStateMachine.Action? {
        guard !running, machine.state == .disconnected else { return nil }
        running = true
        disconnectedSince = now
        return machine.start(at: now)
    }

    var state: ConnectionState { machine.state }
    var isOpen: Bool { machine.state.isOpen }

    /// Not started yet, or started and never connected: callers wait a little for the first connection.
    var needsFirstConnection: Bool { machine.state != .terminated && !machine.everConnected }

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
        auth.connected(at: now)
        counters.connectionOpened()
        lastConnectionError = nil
        logger.debug("relay.connected", metadata: ["relay.generation": "\(generation)"])
        waiters.connectionSettled(open: true)
        announceConnection()
        carry(subscriptions.linked(generation: generation, at: now))
        pump()
        due(now + quickest)
        return generation
    }

    /// The connection (or the attempt) ended; returns what to do next.
    func ended(error: (any Error)?) -> ConnectionStateMachine.Action {
        let wasOpen = machine.state.isOpen
        closeOutbound()
        deflate = false
        deliver(publishQueue.connectionLost().resolutions)
        subscriptions.connectionLost()
        // An exchange cannot be answered on a connection that is gone: its waiter learns now.
        waiters.cancelAllReplies()
        auth.connectionLost()
        probe.connectionLost()
        connectedSince = nil
        if disconnectedSince == nil { disconnectedSince = now }
        let reason = killReason ?? error.map { "\($0)" } ?? (wasOpen ? "closed by relay" : "connection failed")
        counters.lastError = reason
        let connectionError = killReason == nil ? error as? RelayConnectionError : nil
        if let connectionError { lastConnectionError = connectionError }
        killReason = nil
        announceConnection()
        due(now + quickest)
        let action = machine.connectionEnded(at: now, random: &random, productive: counters.connectionWasProductive)
        if case let .backOff(delay, level) = action {
            var metadata: Logger.Metadata = [
                "relay.error": .string(connectionError?.summary ?? reason),
                "relay.failures": "\(machine.failures)",
                "relay.retry_in_ms": "\(Int(delay.milliseconds))",
            ]
            // swift-nio's own text (`Connection errors: SingleConnectionFailure(…)`) is for whoever
            // debugs the client: the summary already says what happened and what to do.
            if let connectionError, logger.logLevel <= .debug {
                metadata["relay.error.detail"] = .string("\(connectionError.underlying)")
            }
            logger.log(level: level, "relay.disconnected", metadata: metadata)
        }
        return action
    }

    /// Stops for good: subscriptions end, pending publishes fail, the connection closes.
    func shutdown() {
        guard machine.state != .terminated else { return }
        _ = machine.shutdown(at: now)
        closeOutbound()
        carry(subscriptions.shutdown())
        var fx = publishQueue.connectionLost()
        fx.resolutions +=
            publishQueue.tick(at: now + configuration.notConnectedAfter * 2, sinceLastFrame: nil, disconnectedFor: configuration.notConnectedAfter).resolutions
        deliver(fx.resolutions)
        waiters.connectionSettled(open: false)
        announceConnection()
        logger.debug("relay.terminated")
    }

    /// Closes the current connection because it is dead or misbehaving.
    func kill(_ reason: String) {
        guard outbound != nil else { return }
        killReason = reason
        logger.info("relay.connection.replaced", metadata: ["relay.reason": .string(reason)])
        closeOutbound()
    }

    private func closeOutbound() {
        outbound?.finish()
        outbound = nil
        subscriptions.unlinked()
    }

    // MARK: waiting for a connection

    func newConnectWaiterID() -> Int { waiters.newConnectID() }

    /// Returns true once connected, false on shutdown or when `expireConnectWaiter` ran first.
    func waitForConnection(id: Int) async -> Bool {
        if machine.state.isOpen { return true }
        if machine.state == .terminated || waiters.connectExpired(id) { return false }
        return await withCheckedContinuation { waiters.awaitConnection(id, $0) }
    }

    func expireConnectWaiter(id: Int) {
        waiters.expireConnect(id, isOpen: machine.state.isOpen)
    }

    // MARK: following the connection

    private var connectionNow: ConnectionChange {
        ConnectionChange(
            isOpen: machine.state.isOpen, generation: generation, terminated: machine.state == .terminated,
            permanentFailure: lastConnectionError?.isPermanent == true)
    }

    /// The connection now, then each change; only the newest is kept for a slow follower.
    func followConnection(_ continuation: AsyncStream<ConnectionChange>.Continuation) {
        let change = connectionNow
        continuation.yield(change)
        if change.terminated {
            continuation.finish()
            return
        }
        lastFollowerID += 1
        let id = lastFollowerID
        changeFollowers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unfollow(id) }
        }
    }

    private func unfollow(_ id: Int) {
        changeFollowers.removeValue(forKey: id)
    }

    private func announceConnection() {
        let change = connectionNow
        for follower in changeFollowers.values {
            follower.yield(change)
            if change.terminated { follower.finish() }
        }
        if change.terminated { changeFollowers = [:] }
    }

    // MARK: carrying out

    private var canSend: Bool { outbound != nil && machine.state.isOpen }

    private func send(_ message: ClientMessage) {
        outbound?.yield(message.encoded)
        due(now + quickest)
    }

    private func carry(_ actions: [SubscriptionTable.Action]) {
        for action in actions {
            switch action {
            case let .send(message): send(message)
            case let .push(item, handle): handle.buffer.pushNow(item)
            case let .finish(handle): handle.buffer.finish()
            case let .log(note): log(note)
            }
        }
    }

    private func carry(_ action: LivenessProbe.Action) {
        switch action {
        case let .send(message): send(message)
        case let .kill(reason): kill(reason)
        }
    }

    private func carry(_ action: AuthState.Action?) {
        switch action {
        case nil: break
        case let .sign(challenge, key): sendAuth(challenge: challenge, key: key)
        case .finished:
            // Whatever the answer (nostr-relay sends none), held work goes again once; a second
            // `auth-required:` then becomes the final outcome.
            machine.authenticationFinished()
            publishQueue.authenticated()
            carry(subscriptions.releaseHeld(at: now))
            pump()
        }
    }

    private func log(_ note: SubscriptionTable.Note) {
        switch note {
        case let .eoseTimedOut(sub):
            logger.info("relay.subscription.eose-timeout", metadata: ["relay.subscription": .string(sub)])
        case let .ignoresLimitZero(sub, stored):
            logger.notice("relay.live.ignores-limit-zero", metadata: ["relay.subscription": .string(sub), "relay.stored_events": "\(stored)"])
        case let .closedByRelay(sub, reason):
            logger.info("relay.subscription.closed", metadata: ["relay.subscription": .string(sub), "relay.reason": .string(reason.raw)])
        }
    }

    private func pump() {
        guard canSend, !auth.isHolding(at: now) else { return }
        var sent = false
        for event in publishQueue.takeSendable(at: now) {
            counters.eventSent()
            outbound?.yield(event.message)
            sent = true
        }
        replies?.set(awaitingReplies: publishQueue.inFlight.count)
        if sent { due(now + quickest) }
        if let next = publishQueue.nextSendDue { due(next) }
    }

    private func sendAuth(challenge: String, key index: Int) {
        guard configuration.authKeys.indices.contains(index), canSend else { return }
        let key = configuration.authKeys[index]
        do {
            let event = try key.sign(
                kind: Kind.clientAuthentication, content: "", tags: [["relay", configuration.url], ["challenge", challenge]],
                createdAt: Int64(Date().timeIntervalSince1970))
            auth.sent(eventID: event.id, at: now)
            machine.authenticationStarted()
            logger.debug("relay.auth.sent", metadata: ["event.id": .string(event.id)])
            send(.auth(event))
        } catch {
            logger.error("relay.auth.sign-failed", metadata: ["relay.reason": .string("\(error)")])
        }
    }

    // MARK: inbound

    /// Routes one verified-or-not event; returns the buffer to push it into, nil when dropped.
    func route(subscription sub: String, event: Event, verification: EventVerification, generation gen: Int) -> SubscriptionHandle? {
        guard gen == generation else { return nil }
        counters.messageReceived()
        lastFrameAt = now
        counters.eventReceived()
        switch subscriptions.route(sub, event: event, valid: verification.isValid) {
        case .invalid:
            if counters.countInvalid() {
                logger.warning(
                    "relay.event.invalid",
                    metadata: [
                        "event.id": .string(event.id), "relay.reason": .string(verification.reason), "relay.invalid_total": "\(counters.invalid)",
                    ])
            }
            return nil
        case .outOfRange:
            if counters.countOutOfRange() {
                logger.info("relay.event.out-of-range", metadata: ["event.id": .string(event.id), "relay.subscription": .string(sub)])
            }
            return nil
        case let .deliver(handle):
            return handle
        case .unknown, .duplicate:
            return nil
        }
    }

    func malformed(_ error: MessageDecodingError, generation gen: Int) {
        guard gen == generation else { return }
        lastFrameAt = now
        if case let .invalidEvent(sub?, why) = error {
            // A well-formed frame with an unreadable event: it counts against the subscription's cap.
            subscriptions.unreadable(sub)
            if counters.countInvalid() {
                logger.warning("relay.event.unparseable", metadata: ["relay.subscription": .string(sub), "relay.reason": .string("\(why)")])
            }
            return
        }
        if counters.countMalformed() {
            logger.warning("relay.frame.malformed", metadata: ["relay.reason": .string("\(error)"), "relay.malformed_total": "\(counters.malformedFrames)"])
        }
    }

    func pingAnswered(_ roundTrip: Duration, generation gen: Int) {
        guard gen == generation else { return }
        lastFrameAt = now
        counters.ping.add(roundTrip)
    }

    func handle(_ message: RelayMessage, generation gen: Int) {
        guard gen == generation else { return }
        counters.messageReceived()
        lastFrameAt = now
        switch message {
        case let .ok(id, ok, reason):
            received(ok: id, accepted: ok, reason: reason)
        case let .eose(sub):
            if probe.answered(by: sub) {
                send(.close(subscription: sub))
                return
            }
            let fx = subscriptions.eose(sub, at: now)
            if let latency = fx.reqToEOSE {
                counters.reqToEOSE.add(latency)
                configuration.latencyObserver?(.reqToEOSE, latency)
            }
            carry(fx.actions)
        case let .closed(sub, reason):
            if waiters.isAwaitingReply(sub) { waiters.answer(sub, with: message); return }
            if probe.answered(by: sub) { return }
            switch subscriptions.closed(sub, reason: reason, canAuthenticate: !configuration.authKeys.isEmpty, at: now) {
            case .unknown: break
            case .heldForAuth: carry(auth.needed())
            case let .ended(actions): carry(actions)
            }
        case let .notice(text):
            waiters.notice(message)
            if counters.countNotice() {
                logger.info("relay.notice", metadata: ["relay.notice": .string(String(text.prefix(300)))])
            }
        case let .auth(challenge):
            carry(auth.received(challenge: challenge))
        case let .count(sub, _, _), let .negMsg(sub, _), let .negErr(sub, _):
            waiters.answer(sub, with: message)
        case .event:
            break
        }
    }

    private func received(ok id: String, accepted ok: Bool, reason: RelayReason) {
        if auth.isAnswer(okFor: id, eventsInFlight: !publishQueue.inFlight.isEmpty) {
            if ok {
                logger.debug("relay.auth.accepted")
            } else {
                logger.warning("relay.auth.rejected", metadata: ["relay.reason": .string(reason.raw)])
            }
            carry(auth.answered(accepted: ok))
            return
        }
        let fx = publishQueue.receivedOK(eventID: id, accepted: ok, reason: reason, at: now, canAuthenticate: !configuration.authKeys.isEmpty)
        if let latency = fx.latency {
            counters.eventToOK.add(latency)
            configuration.latencyObserver?(.eventToOK, latency)
        }
        if fx.unmatched {
            logger.debug("relay.ok.unmatched", metadata: ["event.id": .string(id)])
        }
        deliver(fx.resolutions)
        if fx.needsAuth { carry(auth.needed()) }
        pump()
    }

    // MARK: one-off exchanges

    /// Sends `message` and returns the first COUNT, NEG-MSG, NEG-ERR or CLOSED naming
    /// `subscription`; nil if the connection is down or `cancelReply` comes first.
    func awaitReply(_ message: ClientMessage, subscription: String, noticeAnswers: Bool = false) async -> RelayMessage? {
        guard canSend else { return nil }
        return await withCheckedContinuation { continuation in
            waiters.awaitReply(subscription, noticeAnswers: noticeAnswers, continuation)
            send(message)
        }
    }

    func cancelReply(_ subscription: String) {
        waiters.answer(subscription, with: nil)
    }

    /// Sends a message that expects no answer (NEG-CLOSE); dropped when not connected.
    func sendOneOff(_ message: ClientMessage) {
        guard canSend else { return }
        send(message)
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
        carry(subscriptions.register(handle, filters: filters, live: live, at: now))
    }

    func cancelSubscription(_ id: String) {
        carry(subscriptions.cancel(id, at: now))
    }

    // MARK: publishing

    func publish(_ event: OutboundEvent) async -> PublishOutcome {
        if let early = refuse(event) { return early }
        return await withCheckedContinuation { c in
            waiters.awaitPublish(event.id, c)
            publishQueue.enqueue(event)
            pump()
            due(now + quickest)
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
            waiters.awaitPublishes(toSend.map(\.id), c)
            for e in toSend { publishQueue.enqueue(e) }
            pump()
            due(now + quickest)
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
            counters.resolved(r.outcome)
            switch r.outcome {
            case .accepted, .duplicate:
                break
            case .rejected, .rateLimited, .authRequired:
                logger.debug("relay.publish.refused", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            case .timedOut, .notConnected:
                logger.info("relay.publish.failed", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            }
            waiters.resolve(r.id, r.outcome)
        }
    }

    // MARK: time

    /// Run by `Relay.tickLoop` when the earliest deadline comes or the alarm rings: carries out
    /// what time has decided, then returns how long to sleep until the next deadline (nil: until
    /// the alarm rings, as nothing waits on time).
    func tick() -> Duration? {
        ticking = true
        defer { ticking = false }
        let t = now
        guard canSend else {
            deliver(publishQueue.tick(at: t, sinceLastFrame: nil, disconnectedFor: disconnectedSince.map { t - $0 }).resolutions)
            return untilNextDeadline()
        }
        let silent = t - lastFrameAt
        let fx = publishQueue.tick(at: t, sinceLastFrame: silent, disconnectedFor: nil)
        deliver(fx.resolutions)
        if let action = probe.tick(at: t, stalled: fx.stalled, random: &random) {
            carry(action)
        }
        let sweep = subscriptions.tick(at: t)
        carry(sweep.actions)
        let pending = sweep.awaitingEOSE || !publishQueue.inFlight.isEmpty
        if let action = probe.verdict(silentFor: silent, requestsPending: pending, backpressured: sweep.backpressured) {
            carry(action)
        }
        carry(auth.tick(at: t))
        pump()
        return untilNextDeadline()
    }

    /// The earliest deadline the state machines return, as a wait from now. One already past (an
    /// overdue OK while the probe decides, a consumer not reading) is looked at again in 100 ms.
    private func untilNextDeadline() -> Duration? {
        let t = now
        var next: Duration?
        func consider(_ d: Duration?) { if let d { next = min(next ?? d, d) } }
        if canSend {
            consider(publishQueue.nextDeadline(disconnectedSince: nil))
            consider(subscriptions.nextDeadline)
            consider(auth.nextDeadline(after: t))
            consider(probe.answerDue)
            // Requests pending: silence for `deadAfter` means a dead connection.
            if subscriptions.awaitsEOSE || !publishQueue.inFlight.isEmpty { consider(lastFrameAt + configuration.deadAfter) }
        } else if machine.state != .terminated {
            consider(publishQueue.nextDeadline(disconnectedSince: disconnectedSince ?? t))
        }
        guard let next else {
            scheduled = nil
            return nil
        }
        let wait = next > t ? next - t : .milliseconds(100)
        scheduled = t + wait
        return wait
    }

    /// Something may fall due at `deadline`: wakes the timer loop if it sleeps past it.
    private func due(_ deadline: Duration) {
        if ticking { return }
        if let scheduled, scheduled <= deadline { return }
        scheduled = deadline
        alarm.ring()
    }

    // MARK: information and health

    func setInformation(_ info: RelayInformation?) {
        hasAttemptedInformation = true
        guard let info else { return }
        information = info
        subscriptions.maxActive = info.limitation.maxSubscriptions.flatMap { $0 > 0 ? $0 : nil }
    }

    func health() -> RelayHealth {
        RelayHealth(
            url: configuration.url,
            state: machine.state,
            connectedSince: connectedSince,
            uptimeRatio: machine.uptimeRatio(at: now),
            reconnects: machine.reconnects,
            latency: counters.latency,
            eventsReceived: counters.eventsReceived,
            eventsSent: counters.eventsSent,
            accepted: counters.accepted,
            rejected: counters.rejected,
            invalid: counters.invalid,
            outOfRange: counters.outOfRange,
            malformedFrames: counters.malformedFrames,
            pacingMs: publishQueue.pacing.milliseconds,
            oneAtATime: publishQueue.oneAtATime,
            authenticated: auth.authenticated,
            authChallenged: auth.everChallenged,
            deflate: deflate,
            lastError: counters.lastError)
    }
}
