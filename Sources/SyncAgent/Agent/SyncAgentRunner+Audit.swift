import Ledger
import NostrCore
import RelayClient

extension SyncAgentRunner {
    /// Compares every configured relay with the ledger. With `repair`, fetches what the ledger
    /// lacks and delivers what writable relays lack, then reports what is left.
    public func audit(repair: Bool) async throws -> AuditReport {
        try await withThrowingTaskGroup(of: Void.self) { group -> AuditReport in
            group.addTask { try await self.pool.run() }
            defer { group.cancelAll() }
            var records: [ReconciliationRecord]
            var failures: [RelayURL: String] = [:]
            if repair {
                let producing = Gate()
                async let delivered = deliverAll(until: producing)
                do { records = try await reconcileAll(readers: [], skipping: [], repair: true) } catch {
                    producing.open()
                    _ = try? await delivered
                    throw error
                }
                producing.open()
                failures = try await delivered
            } else {
                records = try await reconcileAll(readers: [], skipping: [], repair: false)
            }
            var lines: [AuditReport.RelayLine] = []
            let problems = try sqlite?.scopeProblems() ?? []
            for entry in configuration.relays {
                let pending = entry.role.isWritable ? try await ledger.pendingCount(relay: entry.url) : 0
                for r in records where r.relay == entry.url {
                    // A scope the relay refuses (an AUTH no key answers) says why, not just "failed".
                    let refusal = problems.first { $0.relay == entry.url && $0.scope == r.scope }?.problem
                    var line = AuditReport.RelayLine(
                        url: entry.url, role: ReportRole(entry.role), method: r.method, ledgerEvents: r.ledgerEvents, relayEvents: r.relayEvents,
                        missingOnRelay: r.missingOnRelay, missingInLedger: r.missingInLedger, fetched: r.fetched, requeued: r.requeued,
                        lostAfterDelivery: r.lostAfterDelivery, pendingAfter: pending,
                        error: r.error.map { e in refusal.map { "\(e); \($0)" } ?? e } ?? failures[entry.url])
                    line.scope = r.scope
                    lines.append(line)
                }
            }
            var report = AuditReport(repair: repair, relays: lines)
            report.media = try await auditMedia(repair: repair)
            return report
        }
    }
}
