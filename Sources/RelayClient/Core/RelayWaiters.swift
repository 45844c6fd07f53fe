import NostrCore

/// Everyone suspended on the relay core: callers waiting for a connection, for the answer to a
/// one-off request, or for publish outcomes. Kept in one place so that a connection's end or
/// the client's shutdown can release them all; every continuation is resumed exactly once.
struct RelayWaiters {
    /// Collects a batch's outcomes; resumed when the last one is in.
    final class Batch {
        var remaining: Int
        var results: [String: PublishOutcome] = [:]
        let continuation: CheckedContinuation<[String: PublishOutcome], Never>

        init(remaining: Int, continuation: CheckedContinuation<[String: PublishOutcome], Never>) {
            self.remaining = remaining
            self.continuation = continuation
            results.reserveCapacity(remaining)
        }
    }

    private enum Publish {
        case single(CheckedContinuation<PublishOutcome, Never>)
        case batch(Batch)
    }

    /// Who waits on an event id: almost always one waiter, kept without an array of its own (one
    /// allocation per event published); the same id published twice at once waits as `many`.
    private enum Waiting {
        case one(Publish)
        case many([Publish])

        func adding(_ waiter: Publish) -> Waiting {
            switch self {
            case let .one(first): .many([first, waiter])
            case let .many(list): .many(list + [waiter])
            }
        }
    }

    private var publishes: [String: Waiting] = [:]
    private var connects: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var lastConnectID = 0
    /// Connect waiters whose time ran out before they began to wait.
    private var expiredConnects: Set<Int> = []
    /// One-off request/answer exchanges (COUNT, NEG-OPEN probes) by subscription id.
    private var replies: [String: CheckedContinuation<RelayMessage?, Never>] = [:]
    /// Exchanges a NOTICE also answers: relays without NIP-77 often reply to NEG-OPEN with one.
    private var noticeAnswers: Set<String> = []
    /// Which wait on a subscription id is the current one (a later exchange reuses the id).
    private var replyGenerations: [String: Int] = [:]
    private var lastReplyGeneration = 0
    /// REQs for nothing sent behind a request a relay may ignore, by their own subscription id.
    private var replyProbes: [String: ReplyProbe] = [:]
    /// Requests whose wait ended because the relay answered their probe and then not them.
    private var ignoredRequests: Set<String> = []

    struct ReplyProbe: Sendable, Equatable {
        /// The request's subscription id.
        let request: String
        /// How long the request's answer may still take once the probe is answered.
        let grace: Duration
        /// The wait it was sent for.
        let generation: Int
    }

    var isEmpty: Bool { publishes.isEmpty && connects.isEmpty && replies.isEmpty }

    // MARK: connection

    mutating func newConnectID() -> Int {
        lastConnectID += 1
        return lastConnectID
    }

    /// True (once) when `expireConnect` ran for `id` before it began to wait.
    mutating func connectExpired(_ id: Int) -> Bool {
        expiredConnects.remove(id) != nil
    }

    mutating func awaitConnection(_ id: Int, _ continuation: CheckedContinuation<Bool, Never>) {
        connects[id] = continuation
    }

    /// The waiter's time ran out: it learns whether the relay is open after all.
    mutating func expireConnect(_ id: Int, isOpen: Bool) {
        if let waiter = connects.removeValue(forKey: id) {
            waiter.resume(returning: isOpen)
        } else {
            expiredConnects.insert(id)
        }
    }

    mutating func connectionSettled(open: Bool) {
        for (_, waiter) in connects { waiter.resume(returning: open) }
        connects = [:]
    }

    // MARK: replies

    var awaitingReplies: Bool { !replies.isEmpty }
    func isAwaitingReply(_ subscription: String) -> Bool { replies[subscription] != nil }

    /// A newer exchange on the same subscription id supersedes the older one, which gets nil.
    /// Returns the wait's generation.
    @discardableResult
    mutating func awaitReply(_ subscription: String, noticeAnswers acceptsNotice: Bool, _ continuation: CheckedContinuation<RelayMessage?, Never>) -> Int {
        replies[subscription]?.resume(returning: nil)
        replies[subscription] = continuation
        if acceptsNotice { noticeAnswers.insert(subscription) }
        lastReplyGeneration += 1
        replyGenerations[subscription] = lastReplyGeneration
        ignoredRequests.remove(subscription)
        return lastReplyGeneration
    }

    mutating func answer(_ subscription: String, with message: RelayMessage?) {
        noticeAnswers.remove(subscription)
        replyGenerations.removeValue(forKey: subscription)
        replies.removeValue(forKey: subscription)?.resume(returning: message)
    }

    /// `probe` went out right behind the request of wait `generation`.
    mutating func sentProbe(_ probe: String, for request: String, grace: Duration, generation: Int) {
        replyProbes[probe] = ReplyProbe(request: request, grace: grace, generation: generation)
    }

    /// The exchange is over: true when `probe` was still out (its REQ is then closed by the
    /// caller, and its answer, if it comes, is ignored).
    mutating func dropProbe(_ probe: String) -> Bool {
        replyProbes.removeValue(forKey: probe) != nil
    }

    /// The relay answered `subscription` (EOSE or CLOSED): if it is a probe, what it was sent for.
    mutating func probeAnswered(_ subscription: String) -> ReplyProbe? {
        replyProbes.removeValue(forKey: subscription)
    }

    /// A probe's grace ran out: ends the request's wait unless it was answered, or another
    /// exchange has taken its subscription id, meanwhile.
    mutating func requestIgnored(_ probe: ReplyProbe) {
        guard replyGenerations[probe.request] == probe.generation else { return }
        answer(probe.request, with: nil)
        ignoredRequests.insert(probe.request)
    }

    /// True (once) when the last wait on `request` ended in `requestIgnored`.
    mutating func wasIgnored(_ request: String) -> Bool {
        ignoredRequests.remove(request) != nil
    }

    mutating func notice(_ message: RelayMessage) {
        for subscription in noticeAnswers { answer(subscription, with: message) }
    }

    /// The connection is gone: no exchange on it can be answered.
    mutating func cancelAllReplies() {
        for subscription in Array(replies.keys) { answer(subscription, with: nil) }
        replyProbes = [:]
        ignoredRequests = []
    }

    // MARK: publishing

    mutating func awaitPublish(_ id: String, _ continuation: CheckedContinuation<PublishOutcome, Never>) {
        add(.single(continuation), for: id)
    }

    mutating func awaitPublishes(_ ids: [String], _ continuation: CheckedContinuation<[String: PublishOutcome], Never>) {
        let batch = Batch(remaining: ids.count, continuation: continuation)
        for id in ids { add(.batch(batch), for: id) }
    }

    private mutating func add(_ waiter: Publish, for id: String) {
        if let earlier = publishes.updateValue(.one(waiter), forKey: id) { publishes[id] = earlier.adding(waiter) }
    }

    mutating func resolve(_ id: String, _ outcome: PublishOutcome) {
        switch publishes.removeValue(forKey: id) {
        case nil: return
        case let .one(waiter)?: Self.resolve(waiter, id, outcome)
        case let .many(list)?: for waiter in list { Self.resolve(waiter, id, outcome) }
        }
    }

    private static func resolve(_ waiter: Publish, _ id: String, _ outcome: PublishOutcome) {
        switch waiter {
        case let .single(c):
            c.resume(returning: outcome)
        case let .batch(batch):
            batch.results[id] = outcome
            batch.remaining -= 1
            if batch.remaining == 0 { batch.continuation.resume(returning: batch.results) }
        }
    }
}
