import NostrCore

/// Tells a dead connection from a relay that ignores some requests. When OKs are overdue and
/// the relay is silent, a REQ that matches nothing is sent; only a connection that cannot answer
/// even that is replaced. A value without I/O.
struct LivenessProbe: Sendable {
    struct Settings: Sendable {
        /// How long the probe may go unanswered.
        var answerWithin: Duration
        /// Silence with requests pending that means the connection is dead.
        var deadAfter: Duration
    }

    enum Action: Sendable, Equatable {
        case send(ClientMessage)
        case kill(reason: String)
    }

    let settings: Settings
    private(set) var id: String?
    private var sentAt: Duration?

    init(settings: Settings) { self.settings = settings }

    mutating func connectionLost() {
        id = nil
        sentAt = nil
    }

    /// `stalled`: OKs are overdue and nothing has come from the relay for as long.
    mutating func tick<R: RandomNumberGenerator>(at now: Duration, stalled: Bool, random: inout R) -> Action? {
        guard stalled else { return nil }
        if let sentAt {
            guard now - sentAt >= settings.answerWithin else { return nil }
            return .kill(reason: "no OK, no frame and no answer to a probe for \(settings.answerWithin) with events in flight")
        }
        let id = "rsprobe" + String(UInt32.random(in: .min ... .max, using: &random), radix: 36)
        self.id = id
        sentAt = now
        return .send(.req(subscription: id, filters: [.matchingNothing]))
    }

    /// A consumer that is not reading explains silence; otherwise pending requests must hear back.
    func verdict(silentFor silent: Duration, requestsPending: Bool, backpressured: Bool) -> Action? {
        guard !backpressured, silent >= settings.deadAfter, requestsPending else { return nil }
        return .kill(reason: "no frame for \(settings.deadAfter) with requests pending")
    }

    /// When the probe sent goes unanswered for too long; nil with none out.
    var answerDue: Duration? { sentAt.map { $0 + settings.answerWithin } }

    /// True when `sub` is the probe's: the connection is alive.
    mutating func answered(by sub: String) -> Bool {
        guard sub == id else { return false }
        id = nil
        sentAt = nil
        return true
    }
}
