import Foundation
import NostrCore

/// A snapshot of one relay's connection and traffic.
public struct RelayHealth: Sendable, Codable, Equatable {
    public struct Latency: Sendable, Codable, Equatable {
        /// REQ sent to EOSE received.
        public var reqToEOSE: LatencyStat?
        /// EVENT sent to its OK received.
        public var eventToOK: LatencyStat?
        /// WebSocket ping round trip; nil until a ping period has passed.
        public var ping: LatencyStat?
    }

    public var url: RelayURL
    public var state: ConnectionState
    public var connectedSince: Date?
    /// Share of the time since `run()` started spent connected.
    public var uptimeRatio: Double
    public var reconnects: Int
    public var latency: Latency
    public var eventsReceived: Int
    public var eventsSent: Int
    public var accepted: Int
    public var rejected: Int
    /// Events whose id or signature did not verify (dropped).
    public var invalid: Int
    /// Events outside their subscription's filters (dropped).
    public var outOfRange: Int
    /// Frames that were not valid relay messages.
    public var malformedFrames: Int
    /// Current delay between EVENTs after `rate-limited:` answers, in ms.
    public var pacingMs: Double
    /// The relay answered OK without an id or not at all, so events go one at a time.
    public var oneAtATime: Bool
    public var authenticated: Bool
    /// The relay sent a NIP-42 AUTH challenge at some point.
    public var authChallenged: Bool = false
    /// The current connection speaks permessage-deflate (RFC 7692).
    public var deflate: Bool = false
    public var lastError: String?
}
