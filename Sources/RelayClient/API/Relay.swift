import Foundation
import Logging
import NostrCore
import ServiceLifecycle

/// One relay: keeps a WebSocket to it alive while `run()` runs, and offers subscriptions,
/// publishing with typed outcomes, complete backfills, NIP-11 and health.
public final class Relay: Service, Sendable {
    public let configuration: RelayConfiguration
    let core: RelayCore
    private let logger: Logger
    private let stopSignal = OneShotSignal()
    private let informationFetcher: RelayInformationFetcher

    public init(configuration: RelayConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "relay.url"] = .string(configuration.url.normalized)
        self.logger = logger
        self.core = RelayCore(configuration: configuration, logger: logger)
        var fetcher = RelayInformationFetcher(url: configuration.url, logger: logger)
        fetcher.additionalTrustRoots = configuration.additionalTrustRoots
        fetcher.timeout = configuration.informationTimeout
        self.informationFetcher = fetcher
    }

    public var url: RelayURL { configuration.url }

    /// Keeps the connection alive (reconnecting with exponential backoff and full jitter)
    /// until the task is cancelled, graceful shutdown is triggered, or `stop()` is called.
    public func run() async throws {
        guard var action = await core.begin() else { return }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.tickLoop() }
                if configuration.fetchInformation {
                    group.addTask { _ = await self.information() }
                }
                let connection = RelayConnection(core: core, configuration: configuration, logger: logger)
                loop: while !Task.isCancelled, !stopSignal.hasFired {
                    switch action {
                    case .connect:
                        let error = await connection.run()
                        // A connection closed because we are stopping is not a failure worth a warning.
                        if Task.isCancelled || stopSignal.hasFired { break loop }
                        action = await core.ended(error: error)
                    case let .backOff(delay, _):
                        if await stopSignal.sleep(for: delay) || Task.isCancelled { break loop }
                        action = await core.backoffElapsed()
                    case .stop:
                        break loop
                    case .none:
                        // Not expected; avoid spinning if it ever happens.
                        if await stopSignal.sleep(for: configuration.backoffInitial) { break loop }
                        action = await core.backoffElapsed()
                    }
                }
                await core.shutdown()
                stopSignal.fire()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Sends a one-off request (COUNT, NEG-OPEN) and waits up to `timeout` for the relay's answer
    /// naming `subscription` (COUNT, NEG-MSG, NEG-ERR or CLOSED, or with `noticeAnswers` any
    /// NOTICE); nil when none comes or the connection ends first.
    public func exchange(_ message: ClientMessage, subscription: String, timeout: Duration, noticeAnswers: Bool = false) async -> RelayMessage? {
        await awaitAnswer(message, subscription: subscription, timeout: timeout, noticeAnswers: noticeAnswers, probe: nil)
    }

    /// `exchange` for a request the relay may ignore without a word, as many do with a verb they
    /// do not know (NEG-OPEN). A REQ that matches nothing goes right behind it: once the relay
    /// answered that, it has read the request too (relays read a connection's messages in
    /// order), and its answer gets `grace` more before the request counts as `.ignored`. A relay
    /// that answers neither within `timeout` is busy or gone, not known to ignore it: `.silent`.
    public func exchange(
        _ message: ClientMessage, subscription: String, timeout: Duration, ignoredAfter grace: Duration, noticeAnswers: Bool = false
    ) async -> IgnorableReply {
        let probe = core.makeSubscriptionID()
        let answer = await awaitAnswer(message, subscription: subscription, timeout: timeout, noticeAnswers: noticeAnswers, probe: (probe, grace))
        await core.endReplyProbe(probe)
        if let answer { return .answer(answer) }
        return await core.wasIgnored(subscription) ? .ignored : .silent
    }

    private func awaitAnswer(
        _ message: ClientMessage, subscription: String, timeout: Duration, noticeAnswers: Bool, probe: (id: String, grace: Duration)?
    ) async -> RelayMessage? {
        let core = self.core
        let answer = await withTimeout(timeout, onTimeout: { await core.cancelReply(subscription) }) {
            await core.awaitReply(message, subscription: subscription, noticeAnswers: noticeAnswers, probe: probe)
        }
        await core.cancelReply(subscription)
        return answer ?? nil
    }

    /// Sends a message that expects no answer (NEG-CLOSE, CLOSE); dropped when not connected.
    public func send(_ message: ClientMessage) async {
        await core.sendOneOff(message)
    }

    /// Why the last attempt to open the WebSocket failed (refused, DNS, timeout, certificate,
    /// no upgrade); nil before any attempt failed and once a connection opens.
    public func lastConnectionError() async -> RelayConnectionError? {
        await core.lastConnectionError
    }

    /// One line saying why the relay is not connected, after waiting `waited` for it: the last
    /// connection error's `summary`, else the last error (a connection that opened, then ended),
    /// else that no attempt finished within `waited`.
    public func connectionFailure(waited: Duration) async -> String {
        if let error = await core.lastConnectionError { return error.summary }
        if let last = await health().lastError { return last }
        return "no answer within \(RelayConnectionError.seconds(waited))"
    }

    /// Counts the connections opened so far: a change means the relay was reconnected.
    public var connectionGeneration: Int {
        get async { await core.generation }
    }

    /// Ends `run()`: closes the connection cleanly, ends subscriptions, fails pending publishes.
    public func stop() {
        stopSignal.fire()
        core.alarm.ring()
        let core = self.core
        Task { await core.shutdown() }
    }

    /// Runs the core's timers: sleeps until the earliest deadline its state machines return, or
    /// until the core rings it (a request sent, a publish queued, a connection opened or lost).
    /// An idle relay, connected with nothing owed, sleeps until then without waking.
    private func tickLoop() async {
        while !Task.isCancelled, !stopSignal.hasFired {
            let next = await core.tick()
            await core.alarm.wait(for: next)
        }
    }

    /// Opens a subscription. `live == false` ends after EOSE; `live == true` stays open and is
    /// re-issued as asked after reconnects (a live filter with `limit: 0` gets `limit: 1` once the
    /// relay is seen ignoring `limit: 0`).
    public func subscribe(_ filters: [Filter], live: Bool) -> RelaySubscription {
        subscribe(filters, live: live, buffer: configuration.subscriptionBuffer)
    }

    func subscribe(_ filters: [Filter], live: Bool, buffer: Int) -> RelaySubscription {
        let core = self.core
        let handle = SubscriptionHandle(id: core.makeSubscriptionID(), capacity: buffer, live: live) { id in
            Task { await core.cancelSubscription(id) }
        }
        let register = Task { await core.register(handle, filters: filters, live: live) }
        _ = register
        return RelaySubscription(handle: handle)
    }

    /// Same as `subscribe` but registered before returning (no race with a fast EOSE).
    func subscribeNow(_ filters: [Filter], live: Bool, buffer: Int) async -> RelaySubscription {
        let core = self.core
        let handle = SubscriptionHandle(id: core.makeSubscriptionID(), capacity: buffer, live: live) { id in
            Task { await core.cancelSubscription(id) }
        }
        await core.register(handle, filters: filters, live: live)
        return RelaySubscription(handle: handle)
    }

    /// Sends one event and waits for its outcome. Before the first connection it waits up to
    /// `notConnectedAfter` for one; afterwards events queue across reconnects.
    public func publish(_ event: Event) async -> PublishOutcome {
        await awaitFirstConnection()
        return await core.publish(OutboundEvent(event))
    }

    /// Pipelined within the publish window; outcomes keyed by event id.
    public func publish(_ events: [Event]) async -> [String: PublishOutcome] {
        await publish(events.map(OutboundEvent.init))
    }

    /// Pipelined within the publish window; outcomes keyed by event id.
    public func publish(_ events: [OutboundEvent]) async -> [String: PublishOutcome] {
        await awaitFirstConnection()
        return await core.publish(events)
    }

    private func awaitFirstConnection() async {
        if await core.needsFirstConnection {
            _ = await waitUntilConnected(timeout: configuration.notConnectedAfter)
        }
    }

    /// The relay's NIP-11 document, fetched once and cached; nil when it has none.
    public func information() async -> RelayInformation? {
        if await core.hasAttemptedInformation { return await core.information }
        let info = await informationFetcher.fetch()
        await core.setInformation(info)
        return await core.information
    }

    /// The NIP-11 document if it was already read; never starts a fetch.
    public func informationIfRead() async -> RelayInformation? {
        await core.information
    }

    public func health() async -> RelayHealth {
        await core.health()
    }

    /// Whether the connection is open now.
    public var isConnected: Bool {
        get async { await core.isOpen }
    }

    /// Waits up to `timeout` for an open connection, but, with `orPermanentFailure`, not for a
    /// failure that waiting cannot change (`RelayConnectionError.isPermanent`): a refused or silent
    /// relay may be restarting; a bad certificate or an HTTP 404 will still be there.
    public func waitUntilConnected(timeout: Duration, orPermanentFailure: Bool) async -> Bool {
        guard orPermanentFailure else { return await waitUntilConnected(timeout: timeout) }
        let changes = connectionChanges()
        let settled = await withTimeout(timeout) {
            for await change in changes {
                if change.isOpen { return true }
                if change.permanentFailure || change.terminated { return false }
            }
            return false
        }
        if let settled { return settled }
        return await isConnected
    }

    /// The connection now, then every change (opened, lost, shut down) as it happens, for whoever
    /// waits on one instead of asking again and again. Only the newest change is kept for a
    /// follower that has not read the last; the sequence ends when the client shuts down or the
    /// follower stops iterating.
    public func connectionChanges() -> AsyncStream<ConnectionChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: ConnectionChange.self, bufferingPolicy: .bufferingNewest(1))
        let core = self.core
        Task { await core.followConnection(continuation) }
        return stream
    }

    /// Closes the connection now, as a lost one (the client reconnects and re-subscribes), and
    /// waits up to `timeout` for the next one to open. For a caller whose request went unanswered
    /// so long that the connection is presumed stuck: LocalRelay stops answering a connection
    /// after about 6,000 EVENTs, while a new one is served. False when no new connection opened.
    public func replaceConnection(reason: String, timeout: Duration) async -> Bool {
        let core = self.core
        let before = await core.generation
        let changes = connectionChanges()
        await core.kill(reason)
        let opened = await withTimeout(timeout) {
            for await change in changes {
                if change.isOpen && change.generation > before { return true }
                if change.permanentFailure || change.terminated { return false }
            }
            return false
        }
        return opened ?? false
    }

    public func waitUntilConnected(timeout: Duration) async -> Bool {
        if await core.isOpen { return true }
        let core = self.core
        let id = await core.newConnectWaiterID()
        let connected = await withTimeout(timeout, onTimeout: { await core.expireConnectWaiter(id: id) }) {
            await core.waitForConnection(id: id)
        }
        await core.expireConnectWaiter(id: id)
        return connected ?? false
    }
}
