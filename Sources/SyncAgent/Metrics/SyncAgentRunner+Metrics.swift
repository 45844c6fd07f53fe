import Foundation
import Ledger
import NostrCore
import RelayClient

extension SyncAgentRunner {
    /// The exposition, with what is read rather than counted brought up to date first.
    func scrape() async -> [UInt8] {
        var s = AgentMetrics.Snapshot()
        for relay in await pool.relays { s.relays.append(await relay.health()) }
        let now = WallClock.unixNow()
        for entry in configuration.writableRelays {
            let count = (try? await ledger.pendingCount(relay: entry.url)) ?? 0
            let oldest = count > 0 ? (try? sqlite?.oldestPendingFirstSeen(relay: entry.url)).flatMap { $0 } : nil
            s.pending[entry.url] = (count, oldest.map { max(0, now - $0) })
        }
        s.ledgerBytes = sqlite?.fileSize ?? 0
        s.ledgerEvents = (try? await ledger.eventCount()) ?? 0
        s.archived = counters.snapshot.archived
        if let directory = configuration.archive?.directory {
            let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.fileSizeKey])) ?? []
            let segments = files.filter { $0.lastPathComponent.hasSuffix(".jsonl.zst") || $0.lastPathComponent.hasSuffix(".jsonl.zst.part") }
            let bytes = segments.reduce(Int64(0)) { $0 + Int64((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
            s.archive = (bytes, segments.count)
        }
        // The ledger's figures only: walking the store's folder at every scrape would cost too much.
        if configuration.media != nil { s.media = try? sqlite?.mediaCounts() }
        metrics.refresh(s)
        return metrics.exposition()
    }

    /// Healthy when every watched service runs and the ledger takes a write.
    func health() async -> HealthReport {
        var ledgerError: String?
        // Bounded: a PostgreSQL pool waits for the database as long as it is away, and /healthz
        // must say so rather than not answer.
        do { try await withDeadline(.seconds(1)) { [self] in try await probeWritable() } } catch { ledgerError = "\(error)" }
        var disconnected: [String] = []
        for relay in await pool.relays where !(await relay.health().state.isOpen) { disconnected.append(relay.url.normalized) }
        return HealthReport.make(stoppedServices: serviceWatch.stopped, ledgerError: ledgerError, disconnectedRelays: disconnected)
    }
}
