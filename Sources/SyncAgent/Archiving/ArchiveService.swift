import Archive
import Foundation
import Ledger
import Logging
import ServiceLifecycle

/// Appends every event the ledger commits to the archive, in commit (seq)
/// order. Where it stands is derived from the archive itself (its last
/// complete line), so a crash between archive flush and ledger update
/// neither loses nor doubles a line. Its waits pass on `clock`.
final class ArchiveService<C: Clock<Duration>>: Service, Sendable {
    let configuration: ArchiveConfiguration
    let ledger: any AgentLedgerStore
    let counters: AgentCounters
    let wake: WakeSignal
    let logger: Logger
    let clock: C
    static var batchSize: Int { 2_000 }
    /// How long the daemon lets events gather once woken: at a live trickle each event would
    /// otherwise cost a ledger read, a flush with `fdatasync` and a ledger write of its own.
    /// The ledger already holds them, so an archive a moment behind loses nothing.
    let gather: Duration

    init(
        configuration: ArchiveConfiguration, ledger: any AgentLedgerStore, counters: AgentCounters, wake: WakeSignal, logger: Logger,
        gather: Duration = .seconds(1), clock: C
    ) {
        self.clock = clock
        self.gather = gather
        self.configuration = configuration
        self.ledger = ledger
        self.counters = counters
        self.wake = wake
        self.logger = logger
    }

    func run() async throws {
        let writer = try ArchiveWriter(configuration: configuration)
        var through = try await startingSeq(writer)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let n = try await drain(writer, through: &through)
            if n < Self.batchSize {
                await cancelWhenGracefulShutdown {
                    await self.wake.wait(timeout: .seconds(2), clock: self.clock)
                    try? await self.clock.sleep(for: self.gather)
                }
            }
        }
        // Shutdown: archive what the ledger committed, then seal the segment.
        while try await drain(writer, through: &through) > 0 {}
        try writer.close()
    }

    /// Archives everything committed so far and closes the writer (one-shot mode).
    func drainAndClose() async throws {
        let writer = try ArchiveWriter(configuration: configuration)
        var through = try await startingSeq(writer)
        while try await drain(writer, through: &through) > 0 {}
        try writer.close()
    }

    private func startingSeq(_ writer: ArchiveWriter) async throws -> Int64 {
        let marked = try await ledger.archivedThroughSeq()
        guard let last = writer.lastEvent else { return marked }
        guard let seq = try await ledger.seq(ofEventID: last.id, createdAt: last.createdAt) else {
            logger.warning(
                "archive ends with an event the ledger does not know; continuing from the ledger's mark",
                metadata: ["event.id": "\(last.id)", "archive.directory": "\(configuration.directory.path)"])
            return marked
        }
        if seq != marked { try await ledger.setArchivedThroughSeq(seq) }
        return seq
    }

    private func drain(_ writer: ArchiveWriter, through: inout Int64) async throws -> Int {
        if let sqlite = ledger as? Ledger {
            // The SQLite ledger hands each row's text over as bytes, copied into the archive as
            // they are while the row is read: no `String` per event, and no batch held in memory.
            var last: (seq: Int64, createdAt: Int64) = (through, 0)
            var lastID: [UInt8] = []
            let count = try sqlite.forEachRawEvent(afterSeq: through, limit: Self.batchSize) { row in
                try writer.append(rawLine: row.raw)
                last = (row.seq, row.createdAt)
                lastID.removeAll(keepingCapacity: true)
                lastID.append(contentsOf: row.id)
            }
            guard count > 0 else { return 0 }
            writer.markLastEvent(ArchivedEventKey(id: String(decoding: lastID, as: UTF8.self), createdAt: last.createdAt))
            try writer.flush()
            through = last.seq
            try await ledger.setArchivedThroughSeq(through)
            counters.update { $0.archived += count }
            return count
        }
        let batch = try await ledger.events(afterSeq: through, limit: Self.batchSize)
        guard let last = batch.last else { return 0 }
        for e in batch { try writer.append(rawLine: e.rawJSON, key: ArchivedEventKey(id: e.id, createdAt: e.createdAt)) }
        try writer.flush()
        through = last.seq
        try await ledger.setArchivedThroughSeq(through)
        counters.update { $0.archived += batch.count }
        return batch.count
    }
}

extension ArchiveService where C == ContinuousClock {
    convenience init(
        configuration: ArchiveConfiguration, ledger: any AgentLedgerStore, counters: AgentCounters, wake: WakeSignal, logger: Logger,
        gather: Duration = .seconds(1)
    ) {
        self.init(
            configuration: configuration, ledger: ledger, counters: counters, wake: wake, logger: logger, gather: gather,
            clock: ContinuousClock())
    }
}
