import Foundation

/// The `"media"` object of the configuration: media backup is on when it is present.
public struct MediaConfiguration: Sendable, Equatable {
    /// The local store: `<directory>/<first two hex>/<sha256>`.
    public var directory: String
    /// Blossom servers each kept blob is mirrored to (base URLs, no trailing slash).
    public var backupServers: [String]
    /// Blossom servers asked for any blob whose own URLs fail (base URLs).
    public var sources: [String]
    public var maxBlobBytes: Int64
    /// The store's budget; nil for none. Fetching stops (with a clear status) before it is passed.
    public var maxTotalBytes: Int64?
    /// Lets URLs from notes reach loopback, private, link-local and CGNAT addresses.
    public var allowPrivateAddresses: Bool
    /// Simultaneous connections to one host.
    public var connectionsPerHost: Int
    /// Blobs fetched at once.
    public var concurrentFetches: Int
    /// The longest one blob's fetch (or upload) may take, from the first byte asked to the last received.
    public var fetchTimeout: Duration
    public var connectTimeout: Duration
    /// Redirects followed per URL.
    public var maxRedirects: Int
    /// Fetch attempts before a blob is given up.
    public var maxAttempts: Int

    public static let defaultMaxBlobBytes: Int64 = 104_857_600

    public init(
        directory: String = "data/media", backupServers: [String] = [], sources: [String] = [], maxBlobBytes: Int64 = defaultMaxBlobBytes,
        maxTotalBytes: Int64? = nil, allowPrivateAddresses: Bool = false, connectionsPerHost: Int = 2, concurrentFetches: Int = 4,
        fetchTimeout: Duration = .seconds(300), connectTimeout: Duration = .seconds(10), maxRedirects: Int = 5, maxAttempts: Int = 8
    ) {
        self.directory = directory
        self.backupServers = backupServers.map(Self.trimmed)
        self.sources = sources.map(Self.trimmed)
        self.maxBlobBytes = maxBlobBytes
        self.maxTotalBytes = maxTotalBytes
        self.allowPrivateAddresses = allowPrivateAddresses
        self.connectionsPerHost = connectionsPerHost
        self.concurrentFetches = concurrentFetches
        self.fetchTimeout = fetchTimeout
        self.connectTimeout = connectTimeout
        self.maxRedirects = maxRedirects
        self.maxAttempts = maxAttempts
    }

    static func trimmed(_ s: String) -> String { s.hasSuffix("/") ? String(s.dropLast()) : s }

    /// Origins the operator named (backup servers and sources): trusted whatever their address.
    var trustedOrigins: Set<Origin> {
        Set((backupServers + sources).compactMap { Origin(url: $0) })
    }
}

/// Scheme, host and port of a URL.
struct Origin: Hashable, Sendable {
    var scheme: String
    var host: String
    var port: Int

    init?(url: String) {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = c.host?.lowercased(), !host.isEmpty
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = c.port ?? (scheme == "https" ? 443 : 80)
    }
}

extension Duration {
    /// For NIO's TimeAmount.
    var totalNanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
