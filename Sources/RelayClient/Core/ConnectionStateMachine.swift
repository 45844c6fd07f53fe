import Logging

/// The connection lifecycle as a value: events in, actions out, no I/O.
/// Times are offsets from an arbitrary origin so tests can drive a fake clock.
struct ConnectionStateMachine: Sendable {
    struct Settings: Sendable {
        var backoffInitial: Duration
        var backoffCap: Duration
        var stableAfter: Duration
    }

    enum Action: Sendable, Equatable {
        case connect
        /// Sleep this long, then report `backoffElapsed`; log the failure at `logLevel`.
        case backOff(Duration, logLevel: Logger.Level)
        case stop
        case none
    }

    let settings: Settings
    private(set) var state: ConnectionState = .disconnected
    /// Consecutive failures since the last stable connection.
    private(set) var failures = 0
    private(set) var reconnects = 0
    private(set) var connectedAt: Duration?
    private(set) var everConnected = false
    /// Total time spent open, for the uptime ratio.
    private(set) var openTime: Duration = .zero
    private(set) var startedAt: Duration?

    init(settings: Settings) { self.settings = settings }

    mutating func start(at now: Duration) -> Action {
        guard state == .disconnected else { return .none }
        startedAt = now
        state = .connecting
        return .connect
    }

    mutating func connected(at now: Duration) -> Action {
        guard state == .connecting else { return .none }
        if everConnected { reconnects += 1 }
        everConnected = true
        state = .connected
        connectedAt = now
        return .none
    }

    mutating func authenticationStarted() {
        if state == .connected { state = .authenticating }
    }

    mutating func authenticationFinished() {
        if state == .authenticating { state = .connected }
    }

    /// The connection attempt failed or an open connection ended. `productive` says the connection
    /// did real work before it ended (LocalRelay stalls a busy connection every ~6,000 EVENTs):
    /// such a relay is healthy, so backoff starts over instead of growing towards the cap.
    mutating func connectionEnded<R: RandomNumberGenerator>(at now: Duration, random: inout R, productive: Bool = false) -> Action {
        switch state {
        case .terminated: return .stop
        case .disconnected, .backingOff: return .none
        case .connecting, .connected, .authenticating: break
        }
        var quickRetry = false
        if let since = connectedAt {
            let lived = now - since
            openTime += lived
            // A connection that held long enough proves the relay healthy again.
            if lived >= settings.stableAfter || productive {
                failures = 0
                // A healthy relay dropped one connection (a stall, a restart behind a proxy): waiting
                // would only idle a bulk publish. Needing a second of life first keeps a relay that
                // drops every connection to one retry per second.
                quickRetry = lived >= settings.backoffInitial
            }
        }
        connectedAt = nil
        state = .backingOff
        if quickRetry { return .backOff(.zero, logLevel: .warning) }
        failures += 1
        return .backOff(delay(random: &random), logLevel: logLevel)
    }

    mutating func backoffElapsed() -> Action {
        guard state == .backingOff else { return state == .terminated ? .stop : .none }
        state = .connecting
        return .connect
    }

    mutating func shutdown(at now: Duration) -> Action {
        if let since = connectedAt { openTime += now - since; connectedAt = nil }
        state = .terminated
        return .stop
    }

    /// Full jitter: uniform in [floor, min(cap, initial * 2^(failures-1))]; the floor keeps a
    /// dead relay from being hammered when the draw lands near zero.
    func delay<R: RandomNumberGenerator>(random: inout R) -> Duration {
        let initial = settings.backoffInitial.seconds
        let cap = settings.backoffCap.seconds
        let exponent = Double(min(max(failures - 1, 0), 30))
        let ceiling = min(cap, initial * pow2(exponent))
        let floor = min(initial / 4, ceiling)
        let drawn = floor + Double.random(in: 0...1, using: &random) * (ceiling - floor)
        return .milliseconds(Int64((drawn * 1000).rounded()))
    }

    /// First failure is worth a warning; after that only every power of two, so a dead relay
    /// does not fill the log.
    var logLevel: Logger.Level {
        if failures <= 1 { return .warning }
        return failures & (failures - 1) == 0 ? .info : .debug
    }

    func uptimeRatio(at now: Duration) -> Double {
        guard let startedAt else { return 0 }
        let total = (now - startedAt).seconds
        guard total > 0 else { return state.isOpen ? 1 : 0 }
        var open = openTime
        if let since = connectedAt { open += now - since }
        return min(1, open.seconds / total)
    }
}

private func pow2(_ e: Double) -> Double {
    var r = 1.0
    for _ in 0..<Int(e) { r *= 2 }
    return r
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    var milliseconds: Double { seconds * 1000 }
}
