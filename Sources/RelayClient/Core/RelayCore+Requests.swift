import Foundation
import Logging
import NostrCore

extension RelayCore {
    // MARK: one-off exchanges

    /// Sends `message` and returns the first COUNT, NEG-MSG, NEG-ERR or CLOSED naming
    /// `subscription`; nil if the connection is down or `cancelReply` comes first.
    ///
    /// With `probe`, for a request a relay may ignore without a word (many treat an unknown verb
    /// so), a REQ for nothing goes right behind it. A relay reads one connection's messages in
    /// order, so once it answered the probe it has read the request too: the wait then ends
    /// `grace` later. A relay that answered neither is busy, and the wait is the caller's.
    func awaitReply(
        _ message: ClientMessage, subscription: String, noticeAnswers: Bool = false, probe: (id: String, grace: Duration)? = nil
    ) async -> RelayMessage? {
        guard canSend else { return nil }
        return await withCheckedContinuation { continuation in
            let generation = waiters.awaitReply(subscription, noticeAnswers: noticeAnswers, continuation)
            send(message)
            if let probe {
                waiters.sentProbe(probe.id, for: subscription, grace: probe.grace, generation: generation)
                send(.req(subscription: probe.id, filters: [.matchingNothing]))
            }
        }
    }

    /// The relay answered `probe`: its request's answer gets the probe's grace.
    func replyProbeAnswered(_ probe: RelayWaiters.ReplyProbe) {
        Task { [weak self] in
            try? await Task.sleep(for: probe.grace)
            await self?.replyProbeExpired(probe)
        }
    }

    private func replyProbeExpired(_ probe: RelayWaiters.ReplyProbe) {
        waiters.requestIgnored(probe)
    }

    /// The exchange is over: a probe the relay has not answered yet is closed, so no REQ is
    /// left open on the relay and no entry here.
    func endReplyProbe(_ probe: String) {
        if waiters.dropProbe(probe), canSend { send(.close(subscription: probe)) }
    }

    /// True (once) when the last wait on `subscription` ended because the relay answered the probe
    /// sent behind it and not the request.
    func wasIgnored(_ subscription: String) -> Bool {
        waiters.wasIgnored(subscription)
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
            publishQueueChanged()
        }
    }

    func publish(_ events: [OutboundEvent]) async -> [String: PublishOutcome] {
        var results: [String: PublishOutcome] = [:]
        var toSend: [OutboundEvent] = []
        toSend.reserveCapacity(events.count)
        // Sized once: a delivery round's 500 ids grown one by one were hashed again at each resize.
        var ids = Set<String>(minimumCapacity: events.count)
        for e in events where ids.insert(e.id).inserted {
            if let early = refuse(e) { results[e.id] = early } else { toSend.append(e) }
        }
        if toSend.isEmpty { return results }
        let sent = await withCheckedContinuation { c in
            waiters.awaitPublishes(toSend.map(\.id), c)
            for e in toSend { publishQueue.enqueue(e) }
            pump()
            publishQueueChanged()
        }
        return results.isEmpty ? sent : results.merging(sent) { a, _ in a }
    }

    private func refuse(_ event: OutboundEvent) -> PublishOutcome? {
        PublishAdmission.refusal(
            of: event, running: running && machine.state != .terminated, maxMessageLength: information?.limitation.maxMessageLength)
    }

    func deliver(_ resolutions: [PublishQueue.Resolution]) {
        for r in resolutions {
            counters.resolved(r.outcome)
            switch r.outcome {
            case .accepted, .duplicate:
                break
            case .rejected, .rateLimited, .authRequired:
                logger.debug("publish refused", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            case .timedOut, .notConnected:
                logger.info("publish failed", metadata: ["event.id": .string(r.id), "relay.outcome": .string(r.outcome.description)])
            }
            waiters.resolve(r.id, r.outcome)
        }
    }
}
