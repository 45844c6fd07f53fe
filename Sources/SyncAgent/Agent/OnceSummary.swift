import Foundation
import Ledger

/// What a one-shot run did, for people (`text`) and scripts (`Codable`).
public struct OnceSummary: Sendable, Codable {
    public var counters: AgentCounters.Snapshot
    /// Each relay that failed (unreachable, backfill error, deliveries left pending), and
    /// discovery when no relay list could be asked for → why.
    public var failures: FailureMap
    /// Relay URL → events dropped because their id or signature did not verify.
    public var invalid: [String: Int]
    /// Relay URL → deliveries still pending at exit.
    public var pending: [String: Int]
    public var seconds: Double
    /// Relays found through NIP-65 relay lists → the authors read from each.
    public var discovered: [String: [String]] = [:]
    /// Discovered relays that could not be read; they do not fail the run.
    public var discoveredFailures: [String: String] = [:]
    /// Relays named by relay lists but not read, with the reason.
    public var discoverySkipped: [String: String] = [:]
    /// Relay URL → what comparing its set with the ledger's found and fixed.
    public var reconciliations: [String: ReconciliationRecord] = [:]
    /// The same for the inbox and the filters (each record names its relay and scope).
    public var scopeReconciliations: [ReconciliationRecord] = []
    /// Scope ("authors", "inbox", "filters[N]") → the ledger's events in it after the run.
    public var scopeEvents: [String: Int] = [:]
    /// Relay URL → scope → why the relay would not serve it (an AUTH no key could answer, say).
    public var refusedScopes: [String: [String: String]] = [:]
    /// Blobs and bytes kept, pending and failed, when media backup is on.
    public var media: MediaCounts? = nil

    public var succeeded: Bool { failures.isEmpty }

    public var text: String {
        var lines: [String] = []
        lines.append("relaysync --once: \(succeeded ? "complete" : "INCOMPLETE") in \(String(format: "%.1f", seconds)) s")
        let fetched = counters.fetched.values.reduce(0, +)
        lines.append(
            "  fetched \(fetched) events: \(counters.new) new, \(counters.known) already known, \(counters.superseded) older replaceable versions, \(counters.expired) expired, \(invalid.values.reduce(0, +)) invalid"
        )
        if scopeEvents.count > 1 {
            let parts = scopeEvents.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) (\(counters.newByScope[$0.key] ?? 0) new)" }
            lines.append("  scopes in the ledger: " + parts.joined(separator: ", "))
        }
        for (url, count) in counters.fetched.sorted(by: { $0.key < $1.key }) {
            lines.append("    from \(url): \(count)\(invalid[url].map { $0 > 0 ? ", \($0) invalid" : "" } ?? "")")
        }
        let writable = Set(counters.delivered.keys).union(counters.duplicates.keys).union(counters.rejected.keys).union(pending.keys).sorted()
        for url in writable {
            let rejected = counters.rejected[url]?.values.reduce(0, +) ?? 0
            lines.append(
                "  to \(url): \(counters.delivered[url] ?? 0) delivered, \(counters.duplicates[url] ?? 0) duplicates, \(rejected) rejected, \(pending[url] ?? 0) pending"
            )
            for (reason, n) in (counters.rejected[url] ?? [:]).sorted(by: { $0.value > $1.value }) {
                lines.append("    rejected \(n)× \(reason)")
            }
        }
        if !discovered.isEmpty || !discoverySkipped.isEmpty {
            lines.append("  discovered \(discovered.count) relays from relay lists (\(discoverySkipped.count) skipped)")
            for (url, authors) in discovered.sorted(by: { $0.key < $1.key }) {
                lines.append(
                    "    \(url) for \(authors.count) author\(authors.count == 1 ? "" : "s")\(discoveredFailures[url].map { ": unreadable, \($0)" } ?? "")")
            }
            for (url, why) in discoverySkipped.sorted(by: { $0.key < $1.key }) { lines.append("    skipped \(url): \(why)") }
        }
        for (url, r) in reconciliations.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  reconciled \(url) (\(r.method)): \(r.error.map { "failed, \($0)" } ?? "\(r.missingInLedger) missing from the ledger (\(r.fetched) fetched), \(r.missingOnRelay) missing on the relay (\(r.requeued) sent again, \(r.lostAfterDelivery) lost after delivery)")"
            )
        }
        for r in scopeReconciliations {
            lines.append(
                "  reconciled \(r.relay) \(r.scope) (\(r.method)): \(r.error.map { "failed, \($0)" } ?? "\(r.missingInLedger) missing from the ledger (\(r.fetched) fetched), \(r.missingOnRelay) missing on the relay (\(r.requeued) sent again)")"
            )
        }
        for (url, scopes) in refusedScopes.sorted(by: { $0.key < $1.key }) {
            for (scope, why) in scopes.sorted(by: { $0.key < $1.key }) { lines.append("  NOT READ \(url) \(scope): \(why)") }
        }
        if let media { lines += media.summaryLines }
        if counters.archived > 0 { lines.append("  archived \(counters.archived) events") }
        for (part, why) in failures.sorted {
            lines.append("  FAILED \(part): \(why)")
        }
        return lines.joined(separator: "\n")
    }
}
