import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Why a blob did not reach a backup server.
public struct MirrorFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// The server's X-Reason, or what went wrong locally.
    public var detail: String

    public init(status: Int?, detail: String) {
        self.status = status
        self.detail = String(detail.prefix(200))
    }

    /// The ledger's reason: `http 413: too big` or the local cause.
    public var reason: String { status.map { "http \($0): \(detail)" } ?? detail }
    /// 401, 402, 403, 413, 415 and other 4xx stay so until the operator acts; the rest may pass later.
    public var isRetryable: Bool {
        guard let status else { return true }
        return status >= 500 || status == 408 || status == 429
    }
    public var description: String { reason }
}

/// Puts kept blobs on a backup Blossom server: `HEAD /<sha256>` first; then BUD-04 `PUT /mirror`
/// with the source URL; where the server lacks it or refuses, BUD-06 `HEAD /upload` and BUD-02
/// `PUT /upload` streaming the local copy. Backup servers are the operator's own: their addresses
/// are not judged, and they are the only place authorization events go.
public final class BlossomUploader: Sendable {
    let client: HTTPClient
    let authorizer: BlossomAuthorizer
    let store: BlobStore
    let timeout: Duration
    let now: @Sendable () -> Int64

    public init(
        group: any EventLoopGroup, authorizer: BlossomAuthorizer, store: BlobStore, timeout: Duration,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        var c = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        c.decompression = .disabled
        // A backup server that refuses is retried later by the ledger's backoff: fail at once
        // instead of holding the worker for the pool's connect timeout.
        c.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: group, configuration: c)
        self.authorizer = authorizer
        self.store = store
        self.timeout = timeout
        self.now = now
    }

    public func shutdown() async { try? await client.shutdown() }

    /// How the blob got there.
    public enum Outcome: String, Sendable, Equatable {
        case alreadyPresent = "present"
        case mirrored
        case uploaded
    }

    /// Puts `hash` on `server`. `source` is where it was fetched from (offered to /mirror).
    public func put(_ hash: BlobHash, size: Int64, type: String?, on server: String, source: String?) async -> Result<Outcome, MirrorFailure> {
        let deadline = NIODeadline.now() + .nanoseconds(timeout.totalNanoseconds)
        do {
            if try await exists(hash, on: server, deadline: deadline) { return .success(.alreadyPresent) }
            var mirrorFailure: MirrorFailure?
            if let source {
                switch try await mirror(hash, from: source, on: server, deadline: deadline) {
                case .success: return .success(.mirrored)
                case .failure(let f): mirrorFailure = f
                }
            }
            if let refusal = try await uploadRequirements(hash, size: size, type: type, on: server, deadline: deadline) {
                return .failure(refusal)
            }
            switch try await upload(hash, size: size, type: type, on: server, deadline: deadline) {
            case .success: return .success(.uploaded)
            case .failure(let f):
                // The upload's refusal is what the operator must act on; a /mirror refusal only made us try it.
                _ = mirrorFailure
                return .failure(f)
            }
        } catch let f as MirrorFailure {
            return .failure(f)
        } catch {
            return .failure(MirrorFailure(status: nil, detail: BlobFetcher.classify(error).description))
        }
    }

    /// BUD-01 HEAD: whether the server has the blob.
    public func exists(_ hash: BlobHash, on server: String, deadline: NIODeadline) async throws -> Bool {
        var request = HTTPClientRequest(url: "\(server)/\(hash.hex)")
        request.method = .HEAD
        let response = try await client.execute(request, deadline: deadline)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return response.status.code == 200
    }

    private func mirror(_ hash: BlobHash, from source: String, on server: String, deadline: NIODeadline) async throws -> Result<Void, MirrorFailure> {
        var request = HTTPClientRequest(url: "\(server)/mirror")
        request.method = .PUT
        request.headers.add(name: "Authorization", value: try authorizer.header(verb: "upload", hash: hash, now: now()))
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONSerialization.data(withJSONObject: ["url": source])
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await client.execute(request, deadline: deadline)
        return try await descriptorCheck(response, hash: hash, server: server)
    }

    /// BUD-06: nil when the server would take the upload, else its refusal.
    private func uploadRequirements(_ hash: BlobHash, size: Int64, type: String?, on server: String, deadline: NIODeadline) async throws
        -> MirrorFailure?
    {
        var request = HTTPClientRequest(url: "\(server)/upload")
        request.method = .HEAD
        request.headers.add(name: "X-SHA-256", value: hash.hex)
        request.headers.add(name: "X-Content-Length", value: String(size))
        request.headers.add(name: "X-Content-Type", value: type ?? "application/octet-stream")
        request.headers.add(name: "Authorization", value: try authorizer.header(verb: "upload", hash: hash, now: now()))
        let response = try await client.execute(request, deadline: deadline)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        let status = Int(response.status.code)
        // A server without BUD-06 answers 404 or 405: the upload itself will tell.
        if (200..<300).contains(status) || status == 404 || status == 405 || status == 501 { return nil }
        return MirrorFailure(status: status, detail: response.headers.first(name: "x-reason") ?? response.status.reasonPhrase)
    }

    private func upload(_ hash: BlobHash, size: Int64, type: String?, on server: String, deadline: NIODeadline) async throws -> Result<Void, MirrorFailure> {
        guard store.contains(hash) else { return .failure(MirrorFailure(status: nil, detail: "not in the local store")) }
        var request = HTTPClientRequest(url: "\(server)/upload")
        request.method = .PUT
        request.headers.add(name: "Authorization", value: try authorizer.header(verb: "upload", hash: hash, now: now()))
        request.headers.add(name: "Content-Type", value: type ?? "application/octet-stream")
        request.headers.add(name: "X-SHA-256", value: hash.hex)
        request.body = .stream(FileChunks(path: store.path(of: hash).path), length: .known(size))
        let response = try await client.execute(request, deadline: deadline)
        return try await descriptorCheck(response, hash: hash, server: server)
    }

    /// A 2xx whose blob descriptor names the same hash.
    private func descriptorCheck(_ response: HTTPClientResponse, hash: BlobHash, server: String) async throws -> Result<Void, MirrorFailure> {
        let body = try await response.body.collect(upTo: 64 * 1024)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            return .failure(MirrorFailure(status: status, detail: response.headers.first(name: "x-reason") ?? response.status.reasonPhrase))
        }
        let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        if let sha = object?["sha256"] as? String {
            return BlobHash(sha) == hash ? .success(()) : .failure(MirrorFailure(status: status, detail: "the server's descriptor names another blob"))
        }
        // No descriptor (some servers answer 200 with an empty body): its HEAD decides.
        return try await exists(hash, on: server, deadline: .now() + .seconds(30))
            ? .success(()) : .failure(MirrorFailure(status: status, detail: "accepted but does not serve the blob"))
    }
}
