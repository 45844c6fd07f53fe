import Foundation
import Logging
import NostrCore

extension RelayCore {
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
                    "invalid event dropped",
                    metadata: [
                        "event.id": .string(event.id), "relay.reason": .string(verification.reason), "relay.invalid_total": "\(counters.invalid)",
                    ])
            }
            return nil
        case .outOfRange:
            if counters.countOutOfRange() {
                logger.info("event outside its filters dropped", metadata: ["event.id": .string(event.id), "relay.subscription": .string(sub)])
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
                logger.warning("unreadable event dropped", metadata: ["relay.subscription": .string(sub), "relay.reason": .string("\(why)")])
            }
            return
        }
        if counters.countMalformed() {
            logger.warning("malformed frame dropped", metadata: ["relay.reason": .string("\(error)"), "relay.malformed_total": "\(counters.malformedFrames)"])
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
            if let replyProbe = waiters.probeAnswered(sub) {
                send(.close(subscription: sub))
                replyProbeAnswered(replyProbe)
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
            if let replyProbe = waiters.probeAnswered(sub) {
                replyProbeAnswered(replyProbe)
                return
            }
            switch subscriptions.closed(sub, reason: reason, canAuthenticate: !configuration.authKeys.isEmpty, at: now) {
            case .unknown: break
            case .heldForAuth:
                carry(auth.needed())
                publishQueueChanged()
            case let .ended(actions): carry(actions)
            }
        case let .notice(text):
            waiters.notice(message)
            if counters.countNotice() {
                logger.info("relay notice", metadata: ["relay.notice": .string(String(text.prefix(300)))])
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
                logger.debug("AUTH accepted")
            } else {
                logger.warning("AUTH rejected", metadata: ["relay.reason": .string(reason.raw)])
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
            logger.debug("OK for no event in flight", metadata: ["event.id": .string(id)])
        }
        deliver(fx.resolutions)
        if fx.needsAuth {
            carry(auth.needed())
            // An event held for NIP-42 and a wait for the challenge bring new deadlines, which
            // the events' OK timeouts the loop sleeps until may lie past.
            publishQueueChanged()
        }
        pump()
    }
}
