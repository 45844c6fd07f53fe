import NostrCore
import Testing

@testable import RelayClient

@Suite("Liveness probe (no I/O)")
struct LivenessProbeTests {
    func probe() -> LivenessProbe {
        LivenessProbe(settings: .init(answerWithin: .seconds(10), deadAfter: .seconds(30)))
    }

    @Test func aStallSendsOneProbeThatMatchesNothing() throws {
        var p = probe()
        var random = SystemRandomNumberGenerator()
        #expect(p.tick(at: .zero, stalled: false, random: &random) == nil)
        guard case let .send(.req(id, filters)) = p.tick(at: .zero, stalled: true, random: &random) else {
            Issue.record("no probe"); return
        }
        #expect(id.hasPrefix("rsprobe") && p.id == id)
        #expect(filters == [Filter(ids: [String(repeating: "0", count: 64)], limit: 1)])
        #expect(p.tick(at: .seconds(5), stalled: true, random: &random) == nil)
    }

    @Test func anUnansweredProbeKillsTheConnection() {
        var p = probe()
        var random = SystemRandomNumberGenerator()
        _ = p.tick(at: .zero, stalled: true, random: &random)
        guard case .kill = p.tick(at: .seconds(10), stalled: true, random: &random) else {
            Issue.record("not killed"); return
        }
    }

    @Test func anAnsweredProbeMeansTheConnectionLives() {
        var p = probe()
        var random = SystemRandomNumberGenerator()
        _ = p.tick(at: .zero, stalled: true, random: &random)
        let id = p.id!
        let answers = [p.answered(by: "someone-else"), p.answered(by: id), p.answered(by: id)]
        #expect(answers == [false, true, false])
        // Still stalled later: a fresh probe, not a kill.
        guard case .send = p.tick(at: .seconds(20), stalled: true, random: &random) else {
            Issue.record("no new probe"); return
        }
    }

    @Test func silenceKillsOnlyWithRequestsPendingAndAConsumerKeepingUp() {
        let p = probe()
        #expect(p.verdict(silentFor: .seconds(29), requestsPending: true, backpressured: false) == nil)
        #expect(p.verdict(silentFor: .seconds(30), requestsPending: false, backpressured: false) == nil)
        #expect(p.verdict(silentFor: .seconds(30), requestsPending: true, backpressured: true) == nil)
        #expect(
            p.verdict(silentFor: .seconds(30), requestsPending: true, backpressured: false) == .kill(reason: "no frame for 30.0 seconds with requests pending"))
    }
}
