import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Fetches one blob from one URL into the store: streams the body into a partial file while
/// hashing it, and keeps it only when the SHA-256 matches. The size cap is checked against
/// Content-Length before reading and enforced while streaming; the disk budget is reserved as
/// bytes arrive; redirects are followed by hand so that each hop's address is judged.
public final class BlobFetcher: Sendable {
    let configuration: MediaConfiguration
    let store: BlobStore
    let policy: AddressPolicy
    let clients: PinnedClients
    let limiter: HostLimiter
    let logger: Logger

    public init(configuration: MediaConfiguration, store: BlobStore, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.store = store
        policy = AddressPolicy(allowPrivate: configuration.allowPrivateAddresses, trusted: configuration.trustedOrigins)
        clients = PinnedClients(
            group: group,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.totalNanoseconds), read: .seconds(30)))
        limiter = HostLimiter(limit: configuration.connectionsPerHost)
        self.logger = logger
    }

    /// Closes every connection; call once when done.
    public func shutdown() async { await clients.shutdown() }

    /// What one successful fetch kept.
    public struct Kept: Sendable, Equatable {
        public var size: Int64
        public var type: String?
        public var url: String
    }

    /// Fetches `hash` from `url`, following at most `maxRedirects` redirects.
    public func fetch(_ hash: BlobHash, from url: String) async -> Result<Kept, FetchFailure> {
        let deadline = NIODeadline.now() + .nanoseconds(configuration.fetchTimeout.totalNanoseconds)
        var current = url
        for _ in 0...configuration.maxRedirects {
            let target: ResolvedTarget
            switch await policy.resolve(current) {
            case .failure(let f): return .failure(f)
            case .success(let t): target = t
            }
            if let wait = await limiter.pause(of: target.host) {
                return .failure(.init(.rateLimited, "\(target.host) asked to wait (Retry-After)", retryAfter: wait))
            }
            guard let client = await clients.client(for: target) else { return .failure(.init(.io, "shutting down")) }
            let hop = current
            let outcome: Hop
            do {
                outcome = try await limiter.with(target.host) { [self] in
                    try await fetchHop(hash, url: hop, client: client, deadline: deadline)
                }
            } catch let f as FetchFailure {
                if f.kind == .rateLimited, let wait = f.retryAfter { await limiter.pause(target.host, for: wait) }
                return .failure(f)
            } catch {
                return .failure(Self.classify(error))
            }
            switch outcome {
            case .kept(let size, let type): return .success(Kept(size: size, type: type, url: hop))
            case .redirect(let location):
                guard let next = URL(string: location, relativeTo: URL(string: hop))?.absoluteString else {
                    return .failure(.init(.badURL, "redirect to an invalid location"))
                }
                current = next
            }
        }
        return .failure(.init(.tooManyRedirects, "more than \(configuration.maxRedirects) redirects from \(url)"))
    }

    private enum Hop {
        case kept(Int64, String?)
        case redirect(String)
    }

    private func fetchHop(_ hash: BlobHash, url: String, client: HTTPClient, deadline: NIODeadline) async throws -> Hop {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "relaysync-media")
        let response = try await client.execute(request, deadline: deadline, logger: nil)
        let status = response.status.code
        if (300..<400).contains(status), status != 304 {
            guard let location = response.headers.first(name: "location") else {
                throw FetchFailure(.httpStatus, "\(status) without Location")
            }
            return .redirect(location)
        }
        if status == 429 {
            let after = response.headers.first(name: "retry-after").flatMap(Int.init).map { min(max($0, 1), 3600) } ?? 60
            throw FetchFailure(.rateLimited, "429 from \(url)", retryAfter: .seconds(after))
        }
        guard (200..<300).contains(status) else {
            let why = response.headers.first(name: "x-reason").map { ": \($0.prefix(200))" } ?? ""
            throw FetchFailure(.httpStatus, "\(status) from \(url)\(why)")
        }
        let limit = configuration.maxBlobBytes
        if let declared = response.headers.first(name: "content-length").flatMap(Int64.init), declared > limit {
            throw FetchFailure(.tooLarge, "Content-Length \(declared) is over max_blob_bytes \(limit)")
        }
        let type = response.headers.first(name: "content-type").flatMap { $0.utf8.count <= 128 ? $0 : nil }
        let size = try await stream(response.body, hash: hash, deadline: deadline)
        return .kept(size, type)
    }

    /// Writes the body into a partial file while hashing it; renames it into place on a match.
    private func stream(_ body: HTTPClientResponse.Body, hash: BlobHash, deadline: NIODeadline) async throws -> Int64 {
        let (partial, handle) = try store.makePartial()
        let fd = handle.fileDescriptor
        var reserved: Int64 = 0
        var kept = false
        defer {
            try? handle.close()
            if !kept {
                unlink(partial.path)
                store.release(reserved)
            }
        }
        var hasher = SHA256()
        var size: Int64 = 0
        let limit = configuration.maxBlobBytes
        for try await chunk in body {
            let n = Int64(chunk.readableBytes)
            size += n
            if size > limit { throw FetchFailure(.tooLarge, "body passed max_blob_bytes \(limit)") }
            guard store.reserve(n, limit: configuration.maxTotalBytes) else {
                throw FetchFailure(.diskBudget, "max_total_bytes \(configuration.maxTotalBytes ?? 0) reached")
            }
            reserved += n
            if NIODeadline.now() > deadline { throw FetchFailure(.timeout, "fetch took longer than \(configuration.fetchTimeout)") }
            try chunk.withUnsafeReadableBytes { raw in
                hasher.update(bufferPointer: raw)
                var offset = 0
                while offset < raw.count {
                    let w = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if w < 0 {
                        if errno == EINTR { continue }
                        throw FetchFailure(.io, "write: \(String(cString: strerror(errno)))")
                    }
                    offset += w
                }
            }
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard digest == hash.hex else { throw FetchFailure(.hashMismatch, "got \(digest) for \(hash.hex)") }
        guard fsync(fd) == 0 else { throw FetchFailure(.io, "fsync: \(String(cString: strerror(errno)))") }
        try store.keep(partial, as: hash)
        kept = true
        return size
    }

    /// A client error as a failure kind, from its type (never its text).
    static func classify(_ error: any Error) -> FetchFailure {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return FetchFailure(.timeout, "\(e)")
            case .remoteConnectionClosed: return FetchFailure(.connect, "connection closed early")
            default: return FetchFailure(.connect, "\(e)")
            }
        }
        if error is CancellationError { return FetchFailure(.timeout, "cancelled") }
        if error is NIOConnectionError || error is ChannelError || error is IOError { return FetchFailure(.connect, "\(error)") }
        return FetchFailure(.connect, String(describing: error))
    }
}
