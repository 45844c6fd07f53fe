import NostrCore

/// A backfill that could not go on; `cursor` says where to resume.
public struct RelayFetchError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable {
        case notConnected
        case closedByRelay(RelayReason)
        case tooManyPages(Int)
    }

    public let url: RelayURL
    public let reason: Reason
    public let cursor: FetchCursor

    public var description: String {
        let why: String =
            switch reason {
            case .notConnected: "no connection"
            case let .closedByRelay(r): "relay closed the query: \(r.raw)"
            case let .tooManyPages(n): "gave up after \(n) pages"
            }
        return "fetching from \(url) failed (\(why)); resume with until=\(cursor.nextUntil.map(String.init) ?? "none")"
    }
}
