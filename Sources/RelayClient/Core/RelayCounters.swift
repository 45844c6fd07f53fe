/// The traffic figures behind `Relay.health()`. Counting a repeated oddity answers whether it is
/// worth a log line: the first 20, then one in 1000, so a misbehaving relay cannot flood the log.
struct RelayCounters: Sendable {
    /// Messages on one connection that make it productive rather than flapping.
    static let productiveAfterMessages = 100

    private(set) var eventsReceived = 0
    private(set) var eventsSent = 0
    private(set) var accepted = 0
    private(set) var rejected = 0
    private(set) var invalid = 0
    private(set) var outOfRange = 0
    private(set) var malformedFrames = 0
    private(set) var notices = 0
    private(set) var messagesThisConnection = 0
    var reqToEOSE = LatencySamples()
    var eventToOK = LatencySamples()
    var ping = LatencySamples()
    var lastError: String?

    var latency: RelayHealth.Latency {
        .init(reqToEOSE: reqToEOSE.stat, eventToOK: eventToOK.stat, ping: ping.stat)
    }

    /// The connection did enough work that its end says nothing bad about the relay.
    var connectionWasProductive: Bool { messagesThisConnection >= Self.productiveAfterMessages }

    mutating func connectionOpened() { messagesThisConnection = 0 }
    mutating func messageReceived() { messagesThisConnection += 1 }
    mutating func eventReceived() { eventsReceived += 1 }
    mutating func eventSent() { eventsSent += 1 }

    mutating func resolved(_ outcome: PublishOutcome) {
        switch outcome {
        case .accepted, .duplicate: accepted += 1
        case .rejected, .rateLimited, .authRequired: rejected += 1
        case .timedOut, .notConnected: break
        }
    }

    mutating func countInvalid() -> Bool { invalid += 1; return Self.worthLogging(invalid) }
    mutating func countOutOfRange() -> Bool { outOfRange += 1; return Self.worthLogging(outOfRange) }
    mutating func countMalformed() -> Bool { malformedFrames += 1; return Self.worthLogging(malformedFrames) }
    mutating func countNotice() -> Bool { notices += 1; return Self.worthLogging(notices) }

    static func worthLogging(_ n: Int) -> Bool { n <= 20 || n % 1000 == 0 }
}
