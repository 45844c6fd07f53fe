import Foundation
import NostrCore
import RelayClient

/// Publishes one batch of a restore, retrying transient failures (rate limits, timeouts, a lost
/// connection) with a growing pause, up to `maxAttempts` times.
enum RestoreSender {
    static func send(_ events: [Event], to relay: Relay, maxAttempts: Int) async -> RestoreBatchResult {
        var result = RestoreBatchResult()
        var queue = events
        var attempt = 0
        while !queue.isEmpty {
            attempt += 1
            let outcomes = await relay.publish(queue)
            var retry: [Event] = []
            for e in queue {
                let outcome = outcomes[e.id] ?? .timedOut
                switch outcome {
                case .accepted:
                    result.accepted += 1
                    result.done.append(e.id)
                case .duplicate:
                    result.duplicate += 1
                    result.done.append(e.id)
                default:
                    if outcome.isPermanentFailure {
                        result.rejected[bucket(outcome), default: .init()].add(e.id)
                    } else if attempt >= maxAttempts || Task.isCancelled {
                        result.failed[bucket(outcome), default: .init()].add(e.id)
                    } else {
                        retry.append(e)
                    }
                }
            }
            queue = retry
            if !queue.isEmpty { try? await Task.sleep(for: .seconds(min(8, 1 << (attempt - 1)))) }
        }
        return result
    }

    /// One line per reason: digits are folded so "invalid: 1600000000 is too old"
    /// and "invalid: 1600000001 is too old" count together.
    static func bucket(_ outcome: PublishOutcome) -> String {
        let raw: String
        switch outcome {
        case let .rejected(r), let .rateLimited(r), let .authRequired(r): raw = r.raw.isEmpty ? "rejected without a reason" : r.raw
        case .timedOut: raw = "no OK from the relay in time"
        case .notConnected: raw = "connection lost"
        default: raw = "\(outcome)"
        }
        return raw.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression)
    }
}
