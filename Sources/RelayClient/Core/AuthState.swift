/// NIP-42 on one connection: the relay's challenge, the AUTH event awaiting its OK, and
/// whether writes wait. A value without I/O; the relay core signs and sends.
struct AuthState: Sendable, Equatable {
    struct Settings: Sendable, Equatable {
        var hasKey: Bool
        /// With a key, EVENTs wait this long after connecting for the relay's challenge, so
        /// relays that refuse unauthenticated writes (nostr-relay says `restricted:`) see AUTH first.
        var challengeWait: Duration
        /// nostr-relay never answers AUTH: after this long the client carries on as if it had.
        var answerWait: Duration = .milliseconds(1500)
    }

    enum Action: Sendable, Equatable {
        /// Sign a kind-22242 event for this challenge, send it, and report it with `sent`.
        case sign(challenge: String)
        /// Authentication is over, whatever its outcome: held work goes again, once.
        case finished
    }

    let settings: Settings
    private(set) var challenge: String?
    private(set) var eventID: String?
    private var sentAt: Duration?
    private var graceUntil: Duration?
    private(set) var authenticated = false
    /// The relay sent a challenge at some point, on any connection.
    private(set) var everChallenged = false

    init(settings: Settings) { self.settings = settings }

    mutating func connected(at now: Duration) {
        graceUntil = settings.hasKey ? now + settings.challengeWait : nil
    }

    mutating func connectionLost() {
        challenge = nil
        eventID = nil
        sentAt = nil
        authenticated = false
    }

    mutating func received(challenge: String) -> Action? {
        self.challenge = challenge
        everChallenged = true
        return settings.hasKey ? .sign(challenge: challenge) : nil
    }

    /// Something was refused for want of authentication. Without a challenge yet, the relay's
    /// AUTH message will start it.
    func needed() -> Action? {
        guard settings.hasKey, eventID == nil, let challenge else { return nil }
        return .sign(challenge: challenge)
    }

    mutating func sent(eventID: String, at now: Duration) {
        self.eventID = eventID
        sentAt = now
    }

    /// Writes wait while AUTH awaits its answer, and during the grace window for a challenge.
    func isHolding(at now: Duration) -> Bool {
        guard settings.hasKey, !authenticated else { return false }
        if sentAt != nil { return true }
        return challenge == nil && graceUntil.map { now < $0 } ?? false
    }

    /// An OK names the AUTH event, or has no id while no EVENT could claim it.
    func isAnswer(okFor id: String, eventsInFlight: Bool) -> Bool {
        guard let eventID else { return false }
        return id == eventID || (id.isEmpty && !eventsInFlight)
    }

    mutating func answered(accepted: Bool) -> Action {
        if accepted { authenticated = true }
        return finish()
    }

    mutating func tick(at now: Duration) -> Action? {
        guard let sentAt, now - sentAt >= settings.answerWait else { return nil }
        return finish()
    }

    private mutating func finish() -> Action {
        eventID = nil
        sentAt = nil
        return .finished
    }
}
