import Crypto
import Foundation
import Ledger
import Logging
import NIOCore
import NostrCore

/// The media side of the agent: reads the events the ledger recorded (in seq order, from its own
/// position, so backfill, live, reconciliation and restore all pass through), records their blob
/// references, fetches and verifies due blobs into the store, and mirrors kept blobs to the
/// backup servers. Every step is a ledger transaction: a crash repeats a step, never skips one.
public final class MediaWorker: Sendable {
    public let configuration: MediaConfiguration
    let ledger: Ledger
    public let store: BlobStore
    let fetcher: BlobFetcher
    let uploader: BlossomUploader?
    let logger: Logger
    let now: @Sendable () -> Int64

    public init(
        configuration: MediaConfiguration, ledger: Ledger, group: any EventLoopGroup, key: SecretKey?, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws {
        self.configuration = configuration
        self.ledger = ledger
        let store = try BlobStore(directory: configuration.directory)
        self.store = store
        fetcher = BlobFetcher(configuration: configuration, store: store, group: group, logger: logger)
        uploader = key.map {
            BlossomUploader(group: group, authorizer: BlossomAuthorizer(key: $0), store: store, timeout: configuration.fetchTimeout, now: now)
        }
        self.logger = logger
        self.now = now
    }

    public func shutdown() async {
        await fetcher.shutdown()
        await uploader?.shutdown()
    }

    /// Runs `body` and then closes the worker's connections, whether `body` returned or threw.
    public func using<T>(_ body: (MediaWorker) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Scans up to `limit` newly recorded events for references; how many were read.
    @discardableResult
    public func scan(limit: Int = 1000) async throws -> Int {
        let position = try ledger.mediaScanPosition()
        let rows = try ledger.mediaEvents(after: position, limit: limit)
        guard let last = rows.last?.seq else { return 0 }
        var refs: [BlobReferenceRecord] = []
        var lists: [AuthorServerList] = []
        for row in rows {
            // The ledger keeps only verified events; one it cannot parse is skipped, not fatal.
            guard let event = try? Event(json: row.raw) else { continue }
            for r in BlobReferenceExtractor.references(in: event) {
                refs.append(BlobReferenceRecord(hash: r.hash.hex, eventID: event.id, pubkey: event.pubkey, url: r.url, size: r.size, type: r.type))
            }
            if event.kind == Kind.blossomServerList {
                lists.append(
                    AuthorServerList(pubkey: event.pubkey, eventID: event.id, createdAt: event.createdAt, servers: BlobReferenceExtractor.serverList(in: event))
                )
            }
        }
        try await ledger.recordBlobReferences(refs, serverLists: lists, scannedThrough: last, now: now())
        return rows.count
    }

    /// Fetches the blobs due now (at most `limit`), `concurrentFetches` at a time; how many were tried.
    @discardableResult
    public func fetchDue(limit: Int = 64) async throws -> Int {
        let due = try ledger.dueBlobs(now: now(), limit: limit)
        guard !due.isEmpty else { return 0 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for blob in due {
                if running >= max(1, configuration.concurrentFetches) {
                    _ = try await group.next()
                    running -= 1
                }
                group.addTask { try await self.fetch(blob) }
                running += 1
            }
            try await group.waitForAll()
        }
        return due.count
    }

    /// Mirrors due blobs to the backup servers (at most `limit`); how many were tried.
    @discardableResult
    public func mirrorDue(limit: Int = 64) async throws -> Int {
        guard let uploader, !configuration.backupServers.isEmpty else { return 0 }
        let due = try ledger.dueMirrors(servers: configuration.backupServers, now: now(), limit: limit)
        guard !due.isEmpty else { return 0 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for m in due {
                if running >= max(1, configuration.concurrentFetches) {
                    _ = try await group.next()
                    running -= 1
                }
                group.addTask { try await self.mirror(m, with: uploader) }
                running += 1
            }
            try await group.waitForAll()
        }
        return due.count
    }

    /// Scans, fetches and mirrors until nothing is due now (`run --once`); bounded by `rounds`.
    public func runUntilIdle(rounds: Int = 10_000) async throws {
        if let _ = uploader { try await ledger.scheduleMirrors(on: configuration.backupServers, now: now()) }
        for _ in 0..<rounds {
            try Task.checkCancellation()
            let scanned = try await scan()
            let fetched = try await fetchDue()
            let mirrored = try await mirrorDue()
            if scanned == 0 && fetched == 0 && mirrored == 0 { return }
        }
    }

    /// The daemon's loop: the same steps, then, when idle, `idle` (a wait for new events or a
    /// retry's time) or else a pause of `interval`, until cancelled.
    public func run(interval: Duration = .seconds(1), idle: (@Sendable () async -> Void)? = nil) async throws {
        if let _ = uploader { try await ledger.scheduleMirrors(on: configuration.backupServers, now: now()) }
        while !Task.isCancelled {
            do {
                let scanned = try await scan()
                let fetched = try await fetchDue()
                let mirrored = try await mirrorDue()
                if scanned == 0 && fetched == 0 && mirrored == 0 {
                    if let idle { await idle() } else { try await Task.sleep(for: interval) }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("media step failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: interval * 5)
            }
        }
    }

    // MARK: - One blob

    func fetch(_ blob: DueBlob) async throws {
        guard let hash = BlobHash(blob.hash) else { return }
        // Already in the store (a crash after the rename, before the ledger heard): re-hashed, not fetched.
        if store.contains(hash) {
            if Self.sha256(ofFile: store.path(of: hash).path) == hash.hex {
                try await ledger.blobKept(
                    hash.hex, size: store.size(of: hash) ?? 0, type: blob.type, source: nil, backupServers: configuration.backupServers, now: now())
                return
            }
            store.remove(hash)
        }
        if let budget = configuration.maxTotalBytes, store.usedBytes >= budget {
            try await ledger.blobFailed(hash.hex, reason: FetchFailure.Kind.diskBudget.rawValue, retryAt: now() + 600, countsAsAttempt: false, now: now())
            return
        }
        var failures: [(url: String, failure: FetchFailure)] = []
        sources: for url in candidates(for: blob, hash: hash) {
            switch await fetcher.fetch(hash, from: url) {
            case .success(let kept):
                try await ledger.blobKept(
                    hash.hex, size: kept.size, type: kept.type ?? blob.type, source: kept.url, backupServers: configuration.backupServers,
                    now: now())
                logger.debug("blob kept", metadata: ["hash": "\(hash)", "bytes": "\(kept.size)", "url": "\(kept.url)"])
                return
            case .failure(let f):
                failures.append((url, f))
                logger.debug("blob fetch failed", metadata: ["hash": "\(hash)", "url": "\(url)", "reason": "\(f)"])
                if f.kind == .diskBudget { break sources }
            }
        }
        let first = failures.first?.failure ?? FetchFailure(.badURL, "no source known")
        // A lasting failure (wrong bytes, oversize, a private address) with only 404s beside it is
        // given up; anything else that may pass (timeouts, 5xx, 429, 404s alone) is retried.
        let lasting = failures.contains { !$0.failure.isRetryable }
        let passing = failures.contains { $0.failure.isRetryable && !$0.failure.isNotFound }
        let retryable = (passing || !lasting) && blob.attempts + 1 < configuration.maxAttempts
        let retryAt: Int64? =
            retryable ? now() + (failures.compactMap { $0.failure.retryAfter.map { $0.components.seconds } }.max() ?? Self.backoff(blob.attempts)) : nil
        var perURL: [String: String] = [:]
        for f in failures where blob.urls.contains(f.url) { perURL[f.url] = f.failure.reason }
        try await ledger.blobFailed(hash.hex, reason: first.reason, retryAt: retryAt, sourceFailures: perURL, now: now())
    }

    /// The note's URLs, then the authors' BUD-03 servers, then the configured sources, then the
    /// backup servers (a copy lost locally comes back from them).
    func candidates(for blob: DueBlob, hash: BlobHash) -> [String] {
        var out: [String] = []
        let servers = blob.authorServers + configuration.sources + configuration.backupServers
        for u in blob.urls + servers.map({ "\($0)/\(hash.hex)" })
        where !out.contains(u) {
            out.append(u)
        }
        return out
    }

    func mirror(_ m: DueMirror, with uploader: BlossomUploader) async throws {
        guard let hash = BlobHash(m.hash) else { return }
        switch await uploader.put(hash, size: m.size, type: m.type, on: m.server, source: m.source) {
        case .success(let how):
            try await ledger.mirrorOutcome(m.hash, server: m.server, state: .present, reason: nil, retryAt: nil, now: now())
            logger.debug("blob mirrored", metadata: ["hash": "\(hash)", "server": "\(m.server)", "how": "\(how.rawValue)"])
        case .failure(let f):
            let retry = f.isRetryable && m.attempts + 1 < configuration.maxAttempts
            try await ledger.mirrorOutcome(
                m.hash, server: m.server, state: retry ? .pending : .failed, reason: f.reason, retryAt: retry ? now() + Self.backoff(m.attempts) : nil,
                now: now())
        }
    }

    /// 30 s doubling to 6 h, with up to a fifth of jitter.
    static func backoff(_ attempts: Int) -> Int64 {
        let base = Int64(30) << Int64(min(attempts, 10))
        let capped = min(base, 6 * 3600)
        return capped + Int64.random(in: 0...(capped / 5))
    }

    /// The SHA-256 of a file, read in 1 MiB pieces; nil when it cannot be read.
    public static func sha256(ofFile path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var hasher = SHA256()
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress!, size)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// What the media side holds now.
    public func counts() throws -> MediaCounts { try ledger.mediaCounts() }
}

extension MediaWorker {
    /// BUD-01 HEAD on a backup server; nil when it could not be asked.
    public func exists(_ hash: BlobHash, on server: String) async throws -> Bool? {
        guard let uploader else { return nil }
        return try? await uploader.exists(hash, on: server, deadline: .now() + .seconds(30))
    }
}
