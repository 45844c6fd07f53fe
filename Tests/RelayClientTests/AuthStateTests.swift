import Testing

@testable import RelayClient

@Suite("NIP-42 state (no I/O)")
struct AuthStateTests {
    func state(key: Bool = true) -> AuthState {
        var s = AuthState(settings: .init(hasKey: key, challengeWait: .seconds(1)))
        s.connected(at: .zero)
        return s
    }

    @Test func withAKeyWritesWaitForAChallengeOnlyDuringTheGraceWindow() {
        let s = state()
        #expect(s.isHolding(at: .milliseconds(999)))
        #expect(!s.isHolding(at: .seconds(1)))
        #expect(!state(key: false).isHolding(at: .zero))
    }

    @Test func severalKeysAnswerOneChallengeInTurnEachAfterThePreviousAnswer() {
        var s = AuthState(settings: .init(keyCount: 3, challengeWait: .seconds(1)))
        s.connected(at: .zero)
        #expect(s.received(challenge: "c") == .sign(challenge: "c", key: 0))
        s.sent(eventID: "a0", at: .seconds(1))
        #expect(s.answered(accepted: true) == .sign(challenge: "c", key: 1))
        s.sent(eventID: "a1", at: .seconds(2))
        #expect(s.isHolding(at: .seconds(2)) == false, "one accepted identity releases writes")
        // An identity the relay refuses, or one it never answers, does not stop the next.
        #expect(s.answered(accepted: false) == .sign(challenge: "c", key: 2))
        s.sent(eventID: "a2", at: .seconds(3))
        #expect(s.tick(at: .seconds(3) + .milliseconds(1500)) == .finished)
        #expect(s.authenticated)
        // A later auth-required starts the round again from the first key.
        #expect(s.needed() == .sign(challenge: "c", key: 0))
    }

    @Test func aChallengeIsSignedAndWritesWaitForItsAnswer() {
        var s = state()
        #expect(s.received(challenge: "c1") == .sign(challenge: "c1", key: 0))
        #expect(s.everChallenged)
        s.sent(eventID: "auth1", at: .seconds(2))
        #expect(s.isHolding(at: .seconds(5)))
        #expect(s.isAnswer(okFor: "auth1", eventsInFlight: true))
        #expect(!s.isAnswer(okFor: "other", eventsInFlight: false))
        #expect(s.answered(accepted: true) == .finished)
        #expect(s.authenticated)
        #expect(!s.isHolding(at: .seconds(5)))
    }

    @Test func anIDLessOKIsTheAuthAnswerOnlyWhenNoEventCouldClaimIt() {
        var s = state()
        _ = s.received(challenge: "c")
        s.sent(eventID: "auth1", at: .zero)
        #expect(s.isAnswer(okFor: "", eventsInFlight: false))
        #expect(!s.isAnswer(okFor: "", eventsInFlight: true))
    }

    @Test func aRejectedAuthStillFinishesSoHeldWorkGoesAgain() {
        var s = state()
        _ = s.received(challenge: "c")
        s.sent(eventID: "auth1", at: .zero)
        #expect(s.answered(accepted: false) == .finished)
        #expect(!s.authenticated)
        #expect(s.eventID == nil)
    }

    @Test func aRelayThatNeverAnswersAuthIsTreatedAsIfItHad() {
        var s = state()
        _ = s.received(challenge: "c")
        s.sent(eventID: "auth1", at: .zero)
        #expect(s.tick(at: .milliseconds(1499)) == nil)
        #expect(s.tick(at: .milliseconds(1500)) == .finished)
        #expect(s.tick(at: .seconds(3)) == nil)
    }

    @Test func authenticationIsStartedOnDemandOnlyWithAChallengeAndNoneInFlight() {
        var s = state()
        #expect(s.needed() == nil)
        _ = s.received(challenge: "c")
        #expect(s.needed() == .sign(challenge: "c", key: 0))
        s.sent(eventID: "auth1", at: .zero)
        #expect(s.needed() == nil)
        var keyless = state(key: false)
        #expect(keyless.received(challenge: "c") == nil)
        #expect(keyless.needed() == nil)
    }

    @Test func aNewConnectionStartsUnauthenticatedButRemembersThatTheRelayChallenges() {
        var s = state()
        _ = s.received(challenge: "c")
        s.sent(eventID: "auth1", at: .zero)
        _ = s.answered(accepted: true)
        s.connectionLost()
        s.connected(at: .seconds(10))
        #expect(!s.authenticated && s.challenge == nil && s.everChallenged)
        #expect(s.isHolding(at: .seconds(10)))
    }
}
