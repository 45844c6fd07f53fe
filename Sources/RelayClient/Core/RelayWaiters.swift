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
        }
    }

    private enum Publish {
        case single(CheckedContinuation<PublishOutcome, Never>)
        case batch(Batch)
    }

    private var publishes: [String: [Publish]] = [:]
    private var connects: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var lastConnectID = 0
    /// Connect waiters whose time ran out before they began to wait.
    private var expiredConnects: Set<Int> = []
    /// One-off request/answer exchanges (COUNT, NEG-OPEN probes) by subscription id.
    private var replies: [String: CheckedContinuation<RelayMessage?, Never>] = [:]
    /// Exchanges a NOTICE also answers: relays without NIP-77 often reply to NEG-OPEN with one.
    private var noticeAnswers: Set<String> = []

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
    mutating func awaitReply(_ subscription: String, noticeAnswers acceptsNotice: Bool, _ continuation: CheckedContinuation<RelayMessage?, Never>) {
        replies[subscription]?.resume(returning: nil)
        replies[subscription] = continuation
        if acceptsNotice { noticeAnswers.insert(subscription) }
    }

    mutating func answer(_ subscription: String, with message: RelayMessage?) {
        noticeAnswers.remove(subscription)
        replies.removeValue(forKey: subscription)?.resume(returning: message)
    }

    mutating func notice(_ message: RelayMessage) {
        for subscription in noticeAnswers { answer(subscription, with: message) }
    }

    /// The connection is gone: no exchange on it can be answered.
    mutating func cancelAllReplies() {
        for subscription in Array(replies.keys) { answer(subscription, with: nil) }
    }

    // MARK: publishing

    mutating func awaitPublish(_ id: String, _ continuation: CheckedContinuation<PublishOutcome, Never>) {
        publishes[id, default: []].append(.single(continuation))
    }

    mutating func awaitPublishes(_ ids: [String], _ continuation: CheckedContinuation<[String: PublishOutcome], Never>) {
        let batch = Batch(remaining: ids.count, continuation: continuation)
        for id in ids { publishes[id, default: []].append(.batch(batch)) }
    }

    mutating func resolve(_ id: String, _ outcome: PublishOutcome) {
        guard let list = publishes.removeValue(forKey: id) else { return }
        for waiter in list {
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
}
