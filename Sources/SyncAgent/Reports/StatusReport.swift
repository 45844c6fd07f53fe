import Foundation
import Ledger
import NostrCore

/// What `relaysync status` shows. The JSON form (`json`) is a stable
/// interface documented in docs/status.md: fields are only ever added.
public struct StatusReport: Sendable, Codable {
    public struct RelayLine: Sendable, Codable {
        public var url: RelayURL
        public var role: ReportRole
        public var present: Int
        public var delivered: Int
        public var duplicate: Int
        public var pending: Int
        public var rejected: Int
        public var rejectedByReason: [String: Int]
        public var superseded: Int
        public var lastSuccessAt: Int64?
        public var lastError: String?
        public var lastErrorAt: Int64?
        public var backfillAuthorsComplete: Int
        public var backfillAuthorsTotal: Int
        /// The relay's last comparison with the ledger; nil before the first.
        public var lastReconciliation: ReconciliationRecord?
        /// Events the relay was found to lack after it had been given them, over all reconciliations.
        public var lostAfterDeliveryTotal: Int = 0

        enum CodingKeys: String, CodingKey {
            case url, role, present, delivered, duplicate, pending, rejected, superseded
            case rejectedByReason = "rejected_by_reason"
            case lastSuccessAt = "last_success_at"
            case lastError = "last_error"
            case lastErrorAt = "last_error_at"
            case backfillAuthorsComplete = "backfill_authors_complete"
            case backfillAuthorsTotal = "backfill_authors_total"
            case lastReconciliation = "last_reconciliation"
            case lostAfterDeliveryTotal = "lost_after_delivery_total"
        }
    }

    /// One configured scope: its events in the ledger, and per relay its last comparison and
    /// what stops it being read.
    public struct ScopeLine: Sendable, Codable {
        public var scope: String
        public var events: Int
        public var reconciliations: [ReconciliationRecord] = []
        /// Relay URL → why the relay does not serve this scope (an AUTH no key answers, say).
        public var problems: [String: String] = [:]
    }

    /// A NIP-62 request to vanish on record: nothing of the author's up to `until` is pushed to `relay`.
    public struct VanishLine: Sendable, Codable {
        public var pubkey: String
        /// A relay URL, or `ALL_RELAYS`.
        public var relay: String
        public var until: Int64
    }

    public var ledgerPath: String
    public var ledgerBytes: Int64
    public var events: Int
    public var archivedThroughSeq: Int64
    public var relays: [RelayLine]
    public var scopes: [ScopeLine] = []
    public var vanish: [VanishLine] = []
    /// False before the first run: the configured ledger file does not exist yet (not in JSON,
    /// where `ledger_bytes` is 0 and every count is 0).
    public var ledgerExists = true

    /// Blobs kept, pending and failed (by reason), per backup server, and disk used; nil when media is off.
    public var media: MediaCounts? = nil

    enum CodingKeys: String, CodingKey {
        case events, relays, scopes, vanish, media
        case ledgerPath = "ledger_path"
        case ledgerBytes = "ledger_bytes"
        case archivedThroughSeq = "archived_through_seq"
    }

    public static func make(configuration: SyncConfiguration, ledger: Ledger) throws -> StatusReport {
        let stats = Dictionary(try ledger.relayStatistics().map { ($0.relay, $0) }, uniquingKeysWith: { a, _ in a })
        let reconciliations = try ledger.lastReconciliations()
        var lines: [RelayLine] = []
        let configured = configuration.relays.map { ($0.url, ReportRole($0.role)) }
        let others = Set(stats.keys).union(reconciliations.keys).filter { url in !configured.contains { $0.0 == url } }.sorted().map {
            ($0, ReportRole.notConfigured)
        }
        for (url, role) in configured + others {
            let s = stats[url]
            lines.append(
                RelayLine(
                    url: url, role: role, present: s?.present ?? 0, delivered: s?.delivered ?? 0, duplicate: s?.duplicate ?? 0,
                    pending: s?.pending ?? 0, rejected: s?.rejected ?? 0, rejectedByReason: s?.rejectedByReason ?? [:],
                    superseded: s?.superseded ?? 0, lastSuccessAt: s?.lastSuccessAt, lastError: s?.lastError,
                    lastErrorAt: s?.lastErrorAt, backfillAuthorsComplete: s?.backfillAuthorsComplete ?? 0,
                    backfillAuthorsTotal: s?.backfillAuthorsTotal ?? 0,
                    lastReconciliation: reconciliations[url]?.last,
                    lostAfterDeliveryTotal: reconciliations[url]?.lostAfterDeliveryTotal ?? 0))
        }
        // Another path: the configured ledger does not exist yet and an empty stand-in was read.
        let exists = ledger.path == configuration.ledgerPath.path
        var report = StatusReport(
            ledgerPath: configuration.ledgerPath.path, ledgerBytes: exists ? ledger.fileSize : 0, events: try ledger.eventCount(),
            archivedThroughSeq: try ledger.archivedThroughSeq(), relays: lines)
        report.ledgerExists = exists
        let allReconciliations = try ledger.lastReconciliationsOfEveryScope()
        let problems = try ledger.scopeProblems()
        for scope in configuration.scopes {
            let name = scope.name.description
            var line = ScopeLine(scope: name, events: try scope.ledgerCount(ledger))
            // An inbox read as each recipient on a connection of its own has a record per recipient ("inbox as npub1…").
            func ofScope(_ recorded: String) -> Bool { recorded == name || recorded.hasPrefix(name + " as ") }
            if scope.name != .authors { line.reconciliations = allReconciliations.map(\.last).filter { ofScope($0.scope) } }
            for p in problems where ofScope(p.scope) { line.problems[p.relay.normalized] = p.problem }
            report.scopes.append(line)
        }
        report.vanish = try ledger.vanishRequests().map {
            VanishLine(pubkey: $0.pubkey, relay: $0.relay == "*" ? Event.allRelays : $0.relay, until: $0.createdAt)
        }
        report.media = try MediaCounts.current(configuration: configuration, ledger: ledger)
        return report
    }

    public var json: String {
        JSONOutput.string(self)
    }

    public var text: String {
        var out = [
            ledgerExists
                ? "ledger \(ledgerPath): \(events) events, \(ByteCountFormatter.string(fromByteCount: ledgerBytes, countStyle: .file)), archived through #\(archivedThroughSeq)"
                : "ledger \(ledgerPath): not created yet (no run so far)"
        ]
        for r in relays {
            out.append("\(r.url) [\(r.role)]")
            out.append(
                "  present \(r.present), delivered \(r.delivered), duplicate \(r.duplicate), pending \(r.pending), rejected \(r.rejected), superseded \(r.superseded)"
            )
            for (reason, n) in r.rejectedByReason.sorted(by: { $0.value > $1.value }).prefix(5) {
                out.append("    rejected \(n)× \(reason)")
            }
            if r.backfillAuthorsTotal > 0 { out.append("  backfill: \(r.backfillAuthorsComplete)/\(r.backfillAuthorsTotal) authors complete") }
            if let t = r.lastSuccessAt { out.append("  last success \(Self.format(t))") }
            if let e = r.lastError, let t = r.lastErrorAt { out.append("  last error \(Self.format(t)): \(e)") }
            if let c = r.lastReconciliation {
                let found =
                    c.error.map { "failed: \($0)" }
                    ?? "\(c.missingInLedger) missing from the ledger (\(c.fetched) fetched), \(c.missingOnRelay) missing on the relay (\(c.requeued) sent again)"
                out.append("  reconciled \(Self.format(c.finishedAt)) by \(c.method): \(found)")
            }
            if r.lostAfterDeliveryTotal > 0 { out.append("  lost after delivery, all time: \(r.lostAfterDeliveryTotal)") }
        }
        if scopes.count > 1 || scopes.contains(where: { !$0.problems.isEmpty }) {
            for s in scopes {
                out.append("scope \(s.scope): \(s.events) events")
                for c in s.reconciliations {
                    let found =
                        c.error.map { "failed: \($0)" }
                        ?? "\(c.missingInLedger) missing from the ledger (\(c.fetched) fetched), \(c.missingOnRelay) missing on the relay (\(c.requeued) sent again)"
                    out.append("  \(c.relay) reconciled \(Self.format(c.finishedAt)) by \(c.method): \(found)")
                }
                for (url, problem) in s.problems.sorted(by: { $0.key < $1.key }) { out.append("  NOT READ from \(url): \(problem)") }
            }
        }
        for v in vanish { out.append("vanish: \(v.pubkey) asked \(v.relay) to forget its events up to \(Self.format(v.until))") }
        if let media { out += media.summaryLines.map { String($0.dropFirst(2)) } }
        return out.joined(separator: "\n")
    }

    static func format(_ t: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }
}
