import Foundation
import Ledger
import Logging
import Media
import NIOPosix
import NostrCore
import ServiceLifecycle

/// The daemon's media service: the worker's loop until shutdown, then its connections closed.
/// Idle, it waits for new events (the ingestor's signal) or, for retries that come due, at most
/// `retryLook`.
struct MediaService: Service {
    let worker: MediaWorker
    let wake: WakeSignal
    static let retryLook: Duration = .seconds(5)

    func run() async throws {
        let wake = wake
        try await cancelWhenGracefulShutdown { try await worker.run(idle: { await wake.wait(timeout: Self.retryLook) }) }
        await worker.shutdown()
    }
}

extension SyncAgentRunner {
    /// The media worker when the configuration has a `"media"` object.
    func makeMediaWorker() throws -> MediaWorker? {
        guard let media = configuration.media, let sqlite else { return nil }
        if !media.backupServers.isEmpty && authKey == nil {
            throw ConfigError(
                key: "media.backup_servers",
                reason: "uploading to backup servers needs a key to sign with (set secret_key_file or \(SyncConfiguration.secretKeyEnvironment))")
        }
        return try MediaWorker(
            configuration: media, ledger: sqlite, group: MultiThreadedEventLoopGroup.singleton, key: authKey, logger: logger,
            now: { WallClock.unixNow() })
    }

    /// `run --once`: references of everything recorded, fetched and mirrored until nothing is due now.
    func runMediaOnce() async throws -> MediaCounts? {
        guard let worker = try makeMediaWorker() else { return nil }
        try await worker.using { try await $0.runUntilIdle() }
        var counts = try worker.counts()
        counts.diskBytes = worker.store.usedBytes
        return counts
    }
}

extension MediaCounts {
    /// The `--once` summary's and `status`'s lines about media.
    public var summaryLines: [String] {
        var lines = [
            "  media: \(kept) blobs kept (\(keptBytes) bytes, \(diskBytes) bytes on disk), \(pending) pending, \(failed) failed, \(references) references"
        ]
        for (reason, n) in failedByReason.sorted(by: { $0.value > $1.value }) { lines.append("    failed \(n)× \(reason)") }
        for (reason, n) in waitingByReason.sorted(by: { $0.value > $1.value }) { lines.append("    waiting for a retry \(n)× \(reason)") }
        for (server, states) in mirrors.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "    on \(server): \(states["present"] ?? 0) present, \(states["pending"] ?? 0) pending, \(states["failed"] ?? 0) failed")
        }
        for (reason, n) in mirrorFailuresByReason.sorted(by: { $0.value > $1.value }) { lines.append("    mirror failed \(n)× \(reason)") }
        return lines
    }
}

extension MediaCounts {
    /// The ledger's media counts and the store's size on disk, when media is configured.
    static func current(configuration: SyncConfiguration, ledger: Ledger) throws -> MediaCounts? {
        guard let media = configuration.media else { return nil }
        var counts = try ledger.mediaCounts()
        counts.diskBytes = BlobStore.bytesOnDisk(directory: media.directory)
        return counts
    }
}

extension SyncAgentRunner {
    /// `audit`'s media part: the store re-hashed, each backup server asked; `repair` fetches and uploads again.
    func auditMedia(repair: Bool) async throws -> MediaAudit.Report? {
        guard let worker = try makeMediaWorker(), let sqlite else { return nil }
        return try await worker.using { try await MediaAudit(worker: $0, ledger: sqlite).run(repair: repair, now: WallClock.unixNow()) }
    }
}
