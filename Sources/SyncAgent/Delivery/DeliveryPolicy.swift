import Ledger
import NostrCore
import RelayClient

/// Turns a relay's answer into what the ledger records: delivered,
/// permanently rejected, or retried after a delay that grows with attempts.
struct DeliveryPolicy: Sendable {
    /// First retry delay; doubled per attempt up to `maxDelay`.
    var baseDelay: Int64 = 5
    var maxDelay: Int64 = 3600

    func result(for outcome: PublishOutcome, eventID: String, relay: RelayURL, attempts: Int, seq: Int64) -> DeliveryResult {
        let delay = min(maxDelay, baseDelay << min(attempts, 20))
        let o: DeliveryResult.Outcome
        switch outcome {
        case .accepted: o = .delivered
        case .duplicate: o = .duplicate
        case let .rejected(reason):
            o = outcome.isPermanentFailure ? .rejected(Self.label(reason)) : .retry(Self.label(reason), afterSeconds: delay)
        case let .rateLimited(reason): o = .retry(Self.label(reason), afterSeconds: delay)
        case let .authRequired(reason): o = .retry(Self.label(reason), afterSeconds: delay)
        case .timedOut: o = .retry("timed out waiting for OK", afterSeconds: delay)
        case .notConnected: o = .retry("not connected", afterSeconds: delay)
        }
        return DeliveryResult(eventID: eventID, relay: relay, outcome: o, seq: seq)
    }

    /// `prefix: message`, or the raw text when the relay gave no prefix.
    static func label(_ reason: RelayReason) -> String {
        reason.raw.isEmpty ? "rejected without reason" : reason.raw
    }
}
