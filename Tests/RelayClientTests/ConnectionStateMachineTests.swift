import Logging
import PeerHarness
import Testing

@testable import RelayClient

@Suite("Connection lifecycle state machine (no I/O, fake clock)")
struct ConnectionStateMachineTests {
    let settings = ConnectionStateMachine.Settings(backoffInitial: .seconds(1), backoffCap: .seconds(300), stableAfter: .seconds(60))

    @Test func startConnectAndFailWithGrowingJitteredBackoffUpToCap() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 42)
        #expect(m.start(at: .zero) == .connect)
        #expect(m.state == .connecting)
        var now = Duration.zero
        var delays: [Duration] = []
        for _ in 0..<20 {
            guard case let .backOff(d, _) = m.connectionEnded(at: now, random: &rng) else { Issue.record("expected backoff"); return }
            #expect(m.state == .backingOff)
            delays.append(d)
            now += d
            #expect(m.backoffElapsed() == .connect)
        }
        // Full jitter: every delay within [initial/4, min(cap, 2^(n-1))], never beyond the cap.
        for (i, d) in delays.enumerated() {
            let ceiling = min(300.0, Double(1 << min(i, 30)))
            #expect(d.seconds >= 0.25 - 1e-9 && d.seconds <= ceiling + 1e-9, "delay \(i) = \(d)")
        }
        #expect(delays.suffix(8).allSatisfy { $0 <= .seconds(300) })
        #expect(delays.suffix(8).map(\.seconds).reduce(0, +) / 8 > 30, "late delays grow toward the cap")
        // The jitter really varies.
        #expect(Set(delays.suffix(8)).count > 4)
        // Total time down for 20 failures is long: a dead relay is not hammered.
        #expect(now > .seconds(600))
    }

    @Test func stableConnectionResetsBackoffShortOneDoesNot() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 7)
        _ = m.start(at: .zero)
        for _ in 0..<6 {
            _ = m.connectionEnded(at: .zero, random: &rng)
            _ = m.backoffElapsed()
        }
        #expect(m.failures == 6)
        _ = m.connected(at: .seconds(100))
        #expect(m.state == .connected)
        // Dropped after 10 s: still flapping, backoff keeps growing.
        _ = m.connectionEnded(at: .seconds(110), random: &rng)
        #expect(m.failures == 7)
        _ = m.backoffElapsed()
        _ = m.connected(at: .seconds(200))
        // Held for 61 s: healthy again, so the first retry is immediate...
        guard case let .backOff(d, level) = m.connectionEnded(at: .seconds(261), random: &rng) else { Issue.record("expected backoff"); return }
        #expect(m.failures == 0)
        #expect(d == .zero)
        #expect(level == .warning)
        #expect(m.reconnects == 1)
        // ...and if that attempt fails, backoff starts over near one second.
        #expect(m.backoffElapsed() == .connect)
        guard case let .backOff(d2, _) = m.connectionEnded(at: .seconds(261), random: &rng) else { Issue.record("expected backoff"); return }
        #expect(m.failures == 1)
        #expect(d2 >= .milliseconds(250) && d2 <= .seconds(1))
    }

    @Test func productiveConnectionResetsBackoffEvenIfShort() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 9)
        _ = m.start(at: .zero)
        for _ in 0..<8 {
            _ = m.connectionEnded(at: .zero, random: &rng)
            _ = m.backoffElapsed()
        }
        _ = m.connected(at: .seconds(10))
        // Stalled after 2 s of real work (LocalRelay after ~6,000 EVENTs): reconnect at once.
        guard case let .backOff(d, _) = m.connectionEnded(at: .seconds(12), random: &rng, productive: true) else { Issue.record("expected backoff"); return }
        #expect(m.failures == 0)
        #expect(d == .zero)
    }

    @Test func relayDroppingEveryBusyConnectionIsRetriedAtMostOncePerSecond() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 11)
        _ = m.start(at: .zero)
        var now = Duration.zero
        var attempts = 0
        // Each connection does real work, then dies after only 0.2 s: no quick retry, so the
        // reconnects are spaced by the jittered first step, never a tight loop.
        while now < .seconds(60), attempts < 10_000 {
            attempts += 1
            _ = m.connected(at: now)
            now += .milliseconds(200)
            guard case let .backOff(d, _) = m.connectionEnded(at: now, random: &rng, productive: true) else { Issue.record("expected backoff"); return }
            #expect(d >= .milliseconds(250))
            now += d
            _ = m.backoffElapsed()
        }
        #expect(Double(attempts) < 60 / 0.45 + 1, "\(attempts) connections in a minute")
        // Dying after 1.5 s instead: immediate retries, but one per 1.5 s of connection life.
        var n = ConnectionStateMachine(settings: settings)
        _ = n.start(at: .zero)
        now = .zero
        attempts = 0
        while now < .seconds(60), attempts < 10_000 {
            attempts += 1
            _ = n.connected(at: now)
            now += .milliseconds(1500)
            guard case let .backOff(d, _) = n.connectionEnded(at: now, random: &rng, productive: true) else { Issue.record("expected backoff"); return }
            now += d
            _ = n.backoffElapsed()
        }
        #expect(attempts == 40)
    }

    @Test func failureLoggingIsRateLimited() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 1)
        _ = m.start(at: .zero)
        var loud = 0
        for _ in 0..<1000 {
            if case let .backOff(_, level) = m.connectionEnded(at: .zero, random: &rng), level >= .info { loud += 1 }
            _ = m.backoffElapsed()
        }
        // warning for the first, info at powers of two: 1, 2, 4, ..., 512.
        #expect(loud == 10)
    }

    @Test func authenticationAndShutdown() {
        var m = ConnectionStateMachine(settings: settings)
        var rng = SeededGenerator(seed: 3)
        _ = m.start(at: .zero)
        _ = m.connected(at: .seconds(1))
        m.authenticationStarted()
        #expect(m.state == .authenticating)
        m.authenticationFinished()
        #expect(m.state == .connected)
        #expect(m.shutdown(at: .seconds(11)) == .stop)
        #expect(m.state == .terminated)
        #expect(m.connectionEnded(at: .seconds(12), random: &rng) == .stop)
        #expect(m.backoffElapsed() == .stop)
        #expect(abs(m.uptimeRatio(at: .seconds(11)) - 10.0 / 11.0) < 1e-9)
    }
}
