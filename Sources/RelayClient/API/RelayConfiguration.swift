import NIOSSL
import NostrCore

/// How one relay connection behaves. Every default is documented beside its field.
public struct RelayConfiguration: Sendable {
    /// `ws://` or `wss://` address of the relay.
    public var url: RelayURL
    /// NIP-42 signers, in the order they answer a challenge; empty means the client never
    /// authenticates.
    public var authKeys: [SecretKey] = []
    /// The first NIP-42 signer; setting it replaces them all.
    public var authKey: SecretKey? {
        get { authKeys.first }
        set { authKeys = newValue.map { [$0] } ?? [] }
    }
    /// TCP + TLS + WebSocket upgrade must finish within this (default 10 s).
    public var connectTimeout: Duration = .seconds(10)
    /// How long the NIP-11 document may take; a relay without one usually says so at once.
    public var informationTimeout: Duration = .seconds(5)
    /// WebSocket ping period (default 20 s); a ping unanswered for one period closes the connection.
    public var pingInterval: Duration = .seconds(20)
    /// With work pending (OKs, EOSE) and no frame for this long, the connection is dead and replaced (default 30 s).
    public var deadAfter: Duration = .seconds(30)
    /// First reconnect delay ceiling (default 1 s); doubles per failure, full jitter.
    public var backoffInitial: Duration = .seconds(1)
    /// Largest reconnect delay (default 300 s).
    public var backoffCap: Duration = .seconds(300)
    /// A connection that lived this long resets the backoff (default 60 s).
    public var stableAfter: Duration = .seconds(60)
    /// Largest inbound frame and message in bytes (default 1 MiB; clamped to `maxFrameSizeHardCap`).
    public var maxFrameSize: Int = 1 << 20
    /// Events in flight awaiting OK (default 250: single-worker relays such as nostr-relay spend
    /// less per event on larger bursts; see docs/bench-reports/history.md).
    public var publishWindow: Int = 250
    /// Names a connection of its own to a relay that already has one in the pool: a relay that keeps
    /// one NIP-42 identity per connection is read as each identity on a connection of its own.
    public var identity: String? = nil
    /// The pool's key: the URL, and the identity when there is one.
    var poolKey: String { identity.map { "\(url) as \($0)" } ?? url.normalized }
    /// With `authKey` set: how long EVENTs wait after connecting for the relay's AUTH challenge.
    public var authChallengeWait: Duration = .seconds(1)
    /// An OK not received within this is a timeout (default 10 s).
    public var okTimeout: Duration = .seconds(10)
    /// A non-live subscription without EOSE after this ends with `.closed` (default 30 s).
    public var eoseTimeout: Duration = .seconds(30)
    /// Buffered inbound events per subscription before the connection stops reading (default 5,000).
    public var subscriptionBuffer: Int = 5_000
    /// Page size for `fetchAll` when the relay publishes no NIP-11 `max_limit` (default 500, the most common cap).
    public var fetchPageLimit: Int = 500
    /// Times a rate-limited event is re-sent before `.rateLimited` is returned (default 3).
    public var rateLimitRetries: Int = 3
    /// Waiting this long without a connection makes queued publishes `.notConnected` (default 30 s).
    public var notConnectedAfter: Duration = .seconds(30)
    /// Whether to offer permessage-deflate: true or false forces it; nil (default) offers it to
    /// every host but a loopback one (127.0.0.0/8, ::1, localhost). On loopback compression saves
    /// no time, and a relay written in Python (nostr-relay) then spends more CPU inflating EVENTs
    /// and deflating answers than on storing them: see docs/bench-reports/history.md.
    public var compression: Bool?
    /// Whether to fetch NIP-11 information on start (default true).
    public var fetchInformation: Bool = true
    /// Told every REQ-to-EOSE and EVENT-to-OK time as it is measured (metrics histograms).
    public var latencyObserver: (@Sendable (LatencyKind, Duration) -> Void)?

    public enum LatencyKind: Sendable {
        case reqToEOSE, eventToOK
    }
    /// Certificates trusted for `wss://` besides the system's roots (a relay's private CA,
    /// tests' self-signed relay). Set from PEM with `trust(_:)`.
    var additionalTrustRoots: [NIOSSLCertificate] = []

    /// Trusts `roots` for this relay alone, besides the system's roots.
    public mutating func trust(_ roots: RelayTrustRoots) {
        additionalTrustRoots += roots.certificates.filter { !additionalTrustRoots.contains($0) }
    }

    /// No relay gets frames larger than this, whatever `maxFrameSize` says (16 MiB).
    public static let maxFrameSizeHardCap = 16 << 20

    public init(url: RelayURL, authKey: SecretKey? = nil) {
        self.url = url
        self.authKeys = authKey.map { [$0] } ?? []
    }

    var effectiveMaxFrameSize: Int { min(max(maxFrameSize, 1 << 14), Self.maxFrameSizeHardCap) }

    /// What `compression` comes to for this `url`.
    public var offersCompression: Bool {
        if let compression { return compression }
        return !Self.isLoopback(host: url.host)
    }

    /// Names and addresses that never leave the machine. Textual, without a resolver: a name
    /// other than `localhost` that happens to resolve to loopback still gets compression.
    static func isLoopback(host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") { return true }
        if h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let v4 = h.hasPrefix("::ffff:") ? String(h.dropFirst(7)) : h
        let octets = v4.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
