import Foundation
import NostrCore

extension RelayHealth {
    /// The snapshot of one relay's state machines and counters at `now`.
    init(
        url: RelayURL, machine: ConnectionStateMachine, counters: RelayCounters, publishQueue: PublishQueue, auth: AuthState,
        connectedSince: Date?, deflate: Bool, now: Duration
    ) {
        self.init(
            url: url,
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
