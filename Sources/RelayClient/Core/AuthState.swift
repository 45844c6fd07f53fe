/// NIP-42 on one connection: the relay's challenge, the AUTH event awaiting its OK, and
/// whether writes wait. A value without I/O; the relay core signs and sends. With several keys
/// (the agent's and inbox recipients'), one AUTH goes per key, one after another, each after the
/// previous one's answer: NIP-42 lets a connection hold several identities, and a relay that
/// keeps only one still got each asked in turn.
struct AuthState: Sendable, Equatable {
    struct Settings: Sendable, Equatable {
        /// How many identities answer a challenge (0: never authenticate).
        var keyCount: Int
        /// With a key, EVENTs wait this long after connecting for the relay's challenge, so
        /// relays that refuse unauthenticated writes (nostr-relay says `restricted:`) see AUTH first.
        var challengeWait: Duration
        /// nostr-relay never answers AUTH: after this long the client carries on as if it had.
        var answerWait: Duration = .milliseconds(1500)

        var hasKey: Bool { keyCount > 0 }

        init(keyCount: Int, challengeWait: Duration, answerWait: Duration = .milliseconds(1500)) {
            self.keyCount = keyCount
            self.challengeWait = challengeWait
            self.answerWait = answerWait
        }

        init(hasKey: Bool, challengeWait: Duration, answerWait: Duration = .milliseconds(1500)) {
            self.init(keyCount: hasKey ? 1 : 0, challengeWait: challengeWait, answerWait: answerWait)
        }
    }

    enum Action: Sendable, Equatable {
        /// Sign a kind-22242 event for this challenge with the key at `key`, send it, and report
        /// it with `sent`.
        case sign(challenge: String, key: Int)
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
    /// The next key to answer the current challenge with.
    private var nextKey = 0

    init(settings: Settings) { self.settings = settings }

    mutating func connected(at now: Duration) {
        graceUntil = settings.hasKey ? now + settings.challengeWait : nil
    }

    mutating func connectionLost() {
        challenge = nil
        eventID = nil
        sentAt = nil
        authenticated = false
        nextKey = 0
    }

    mutating func received(challenge: String) -> Action? {
        self.challenge = challenge
        everChallenged = true
        guard settings.hasKey else { return nil }
        nextKey = 1
        return .sign(challenge: challenge, key: 0)
    }

    /// Something was refused for want of authentication. Without a challenge yet, the relay's
    /// AUTH message will start it.
    mutating func needed() -> Action? {
        guard settings.hasKey, eventID == nil, let challenge else { return nil }
        nextKey = 1
        return .sign(challenge: challenge, key: 0)
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

    /// When time alone changes something: the answer to AUTH falls due, or the grace window for a
    /// challenge ends and held writes go. Nil when only a message can.
    func nextDeadline(after now: Duration) -> Duration? {
        if let sentAt { return sentAt + settings.answerWait }
        guard settings.hasKey, !authenticated, challenge == nil, let graceUntil, graceUntil > now else { return nil }
        return graceUntil
    }

    mutating func tick(at now: Duration) -> Action? {
        guard let sentAt, now - sentAt >= settings.answerWait else { return nil }
        return finish()
    }

    /// The next identity's AUTH, or the end of authentication.
    private mutating func finish() -> Action {
        eventID = nil
        sentAt = nil
        if let challenge, nextKey < settings.keyCount {
            defer { nextKey += 1 }
            return .sign(challenge: challenge, key: nextKey)
        }
        return .finished
    }
}
