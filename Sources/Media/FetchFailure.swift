/// Why a blob could not be fetched from one URL.
public struct FetchFailure: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case badURL = "bad url"
        case privateAddress = "private address"
        case dns = "dns"
        case connect = "connection failed"
        case timeout = "timeout"
        case httpStatus = "http status"
        case rateLimited = "rate limited"
        case tooLarge = "too large"
        case hashMismatch = "hash mismatch"
        case tooManyRedirects = "too many redirects"
        case diskBudget = "disk budget reached"
        case io = "local i/o"
    }

    public let kind: Kind
    public let detail: String
    /// The server's Retry-After, bounded.
    public var retryAfter: Duration?

    public init(_ kind: Kind, _ detail: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.detail = detail
        self.retryAfter = retryAfter
    }

    /// The ledger's reason: the kind, and for HTTP the status.
    public var reason: String {
        switch kind {
        case .httpStatus: "http \(detail.prefix(3))"
        default: kind.rawValue
        }
    }

    /// Whether trying again later can help (a wrong hash or an oversize blob stays so).
    public var isRetryable: Bool {
        switch kind {
        case .badURL, .privateAddress, .tooLarge, .hashMismatch, .tooManyRedirects: false
        case .httpStatus: detail.hasPrefix("5") || detail.hasPrefix("408") || detail.hasPrefix("404")
        default: true
        }
    }

    /// A 404: the server does not have it (yet).
    public var isNotFound: Bool { kind == .httpStatus && detail.hasPrefix("404") }

    public var description: String { "\(kind.rawValue): \(detail)" }
}
