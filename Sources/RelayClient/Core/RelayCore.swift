import Foundation
import Logging
import NIOCore
import NostrCore

/// One relay's mutable state, as values that decide (`ConnectionStateMachine`, `PublishQueue`,
/// `SubscriptionTable`, `AuthState`, `LivenessProbe`, `RelayCounters`) and the waiters they
/// release. The actor feeds them frames and time and carries out what they return; it is the
/// only place that writes to the connection.
///
/// The actor is split by concern over three files: this one (connection lifecycle, carrying out
/// actions, time), `RelayCore+Inbound` (frames from the relay) and `RelayCore+Requests`
/// (subscriptions, publishing, one-off exchanges). The state is internal so those extensions can
/// reach it; nothing outside the actor touches it.
actor RelayCore {
    nonisolated let configuration: RelayConfiguration
    nonisolated let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var random = SystemRandomNumberGenerator()

    var machine: ConnectionStateMachine
    var publishQueue: PublishQueue
    var subscriptions: SubscriptionTable
    var auth: AuthState
    var probe: LivenessProbe
    var counters = RelayCounters()
    var waiters = RelayWaiters()

    var outbound: Outbox?
    /// Tells the connection's read pacer how many EVENTs await OKs.
    var replies: ReadPacer.Gauge?
    var deflate = false
    private(set) var generation = 0
    var lastFrameAt: Duration = .zero
    var disconnectedSince: Duration?
    /// Why the last attempt to open the WebSocket failed; cleared when one opens.
    private(set) var lastConnectionError: RelayConnectionError?
    var connectedSince: Date?
    var running = false
    var killReason: String?

    private(set) var information: RelayInformation?
    private(set) var hasAttemptedInformation = false

    /// Rings the timer loop (`Relay.tickLoop`) awake before the deadline it sleeps until.
    nonisolated let alarm = TickAlarm()
    private var schedule = WakeSchedule()
    private var followers = ConnectionFollowers()
    /// The shortest wait any state machine keeps: something that just started may fall due this soon.
    let quickest: Duration

    init(configuration: RelayConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "relay.url"] = .string(configuration.url.normalized)
        self.logger = logger
        self.origin = clock.now
        self.machine = ConnectionStateMachine(settings: configuration.connectionSettings)
        self.publishQueue = PublishQueue(settings: configuration.publishSettings)
        self.subscriptions = SubscriptionTable(settings: configuration.subscriptionSettings)
        self.auth = AuthState(settings: configuration.authSettings)
        self.probe = LivenessProbe(settings: configuration.probeSettings)
        self.quickest = configuration.quickestDeadline
    }

    var now: Duration { clock.now - origin }

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
        logger.debug("relay connected", metadata: ["relay.generation": "\(generation)"])
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
            logger.disconnected(level: level, error: connectionError, reason: reason, failures: machine.failures, retryIn: delay)
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
        logger.debug("relay stopped")
    }

    /// Closes the current connection because it is dead or misbehaving.
    func kill(_ reason: String) {
        guard outbound != nil else { return }
        killReason = reason
        logger.info("connection replaced", metadata: ["relay.reason": .string(reason)])
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
        guard let id = followers.add(continuation, now: connectionNow) else { return }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unfollow(id) }
        }
    }

    private func unfollow(_ id: Int) {
        followers.remove(id)
    }

    private func announceConnection() {
        followers.announce(connectionNow)
    }

    // MARK: carrying out

    var canSend: Bool { outbound != nil && machine.state.isOpen }

    func send(_ message: ClientMessage) {
        outbound?.yield(message.encoded)
        due(now + quickest)
    }

    func carry(_ actions: [SubscriptionTable.Action]) {
        for action in actions {
            switch action {
            case let .send(message): send(message)
            case let .push(item, handle): handle.buffer.pushNow(item)
            case let .finish(handle): handle.buffer.finish()
            case let .log(note): logger.log(note)
            }
        }
    }

    func carry(_ action: LivenessProbe.Action) {
        switch action {
        case let .send(message): send(message)
        case let .kill(reason): kill(reason)
        }
    }

    func carry(_ action: AuthState.Action?) {
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

    func pump() {
        guard canSend, !auth.isHolding(at: now) else { return }
        var sent = false
        for event in publishQueue.takeSendable(at: now) {
            counters.eventSent()
            outbound?.yield(event.frame)
            sent = true
        }
        replies?.set(awaitingReplies: publishQueue.inFlight.count)
        if sent { publishQueueChanged() }
        if let next = publishQueue.nextSendDue { due(next) }
    }

    /// Events were queued, sent or held: the timer loop must run by the earliest deadline the
    /// state machines now keep (an OK's timeout, the silence limit, a NIP-42 wait). Not `now + quickest`: a sent event
    /// cannot fall due sooner than its OK timeout, and ringing at the quickest of all waits woke
    /// the loop for every publish of a live stream, as the loop's next wake lay past it.
    func publishQueueChanged() {
        if let deadline = earliestDeadline() { due(deadline) }
    }

    private func sendAuth(challenge: String, key index: Int) {
        guard configuration.authKeys.indices.contains(index), canSend else { return }
        do {
            let event = try AuthResponse.event(answering: challenge, relay: configuration.url, key: configuration.authKeys[index])
            auth.sent(eventID: event.id, at: now)
            machine.authenticationStarted()
            logger.debug("AUTH sent", metadata: ["event.id": .string(event.id)])
            send(.auth(event))
        } catch {
            logger.error("AUTH not signed", metadata: ["relay.reason": .string("\(error)")])
        }
    }

    // MARK: time

    /// Run by `Relay.tickLoop` when the earliest deadline comes or the alarm rings: carries out
    /// what time has decided, then returns how long to sleep until the next deadline (nil: until
    /// the alarm rings, as nothing waits on time).
    func tick() -> Duration? {
        schedule.ticking = true
        defer { schedule.ticking = false }
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

    /// The earliest deadline the state machines return, as a wait from now.
    private func untilNextDeadline() -> Duration? {
        let t = now
        return schedule.next(deadlines(at: t), now: t)
    }

    /// The earliest deadline the state machines return; nil when nothing waits on time.
    private func earliestDeadline() -> Duration? {
        deadlines(at: now).compactMap { $0 }.min()
    }

    private func deadlines(at t: Duration) -> [Duration?] {
        var deadlines: [Duration?] = []
        if canSend {
            deadlines = [publishQueue.nextDeadline(disconnectedSince: nil), subscriptions.nextDeadline, auth.nextDeadline(after: t), probe.answerDue]
            // Requests pending: silence for `deadAfter` means a dead connection.
            if subscriptions.awaitsEOSE || !publishQueue.inFlight.isEmpty { deadlines.append(lastFrameAt + configuration.deadAfter) }
        } else if machine.state != .terminated {
            deadlines = [publishQueue.nextDeadline(disconnectedSince: disconnectedSince ?? t)]
        }
        return deadlines
    }

    /// Something may fall due at `deadline`: wakes the timer loop if it sleeps past it.
    func due(_ deadline: Duration) {
        if schedule.due(deadline) { alarm.ring() }
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
            url: configuration.url, machine: machine, counters: counters, publishQueue: publishQueue, auth: auth,
            connectedSince: connectedSince, deflate: deflate, now: now)
    }
}
