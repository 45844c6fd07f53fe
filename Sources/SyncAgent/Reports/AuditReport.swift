import Foundation
import Ledger
import Media
import NostrCore

/// What `relaysync audit` found per relay. The JSON form is a stable interface (docs/status.md):
/// fields are only ever added.
public struct AuditReport: Sendable, Codable {
    public struct RelayLine: Sendable, Codable {
        public var url: RelayURL
        public var role: ReportRole
        public var method: ReconcileMethod
        public var ledgerEvents: Int
        public var relayEvents: Int?
        public var missingOnRelay: Int
        public var missingInLedger: Int
        public var fetched: Int
        public var requeued: Int
        public var lostAfterDelivery: Int
        /// Deliveries still pending for the relay when the audit ended.
        public var pendingAfter: Int
        public var error: String?
        /// The scope compared: "authors", "inbox", "filters[N]".
        public var scope = "authors"

        enum CodingKeys: String, CodingKey {
            case url, role, method, fetched, requeued, error, scope
            case ledgerEvents = "ledger_events"
            case relayEvents = "relay_events"
            case missingOnRelay = "missing_on_relay"
            case missingInLedger = "missing_in_ledger"
            case lostAfterDelivery = "lost_after_delivery"
            case pendingAfter = "pending_after"
        }

        var writable: Bool { role.isWritable }

        /// A gap that matters: the ledger lacks the relay's events, or a writable relay lacks the
        /// ledger's (a read-only relay lacking events from elsewhere is normal).
        func hasGap(repaired: Bool) -> Bool {
            if repaired {
                return fetched < missingInLedger || writable && (requeued < missingOnRelay || pendingAfter > 0)
            }
            return missingInLedger > 0 || writable && missingOnRelay > 0
        }
    }

    public var repair: Bool
    public var relays: [RelayLine]
    /// The local store re-hashed and each backup server asked by HEAD; nil when media is off.
    public var media: MediaAudit.Report? = nil

    public var failed: Bool { relays.contains { $0.error != nil } }
    public var gapsRemain: Bool { relays.contains { $0.hasGap(repaired: repair) } || media.map { !$0.clean } == true }

    /// 0: no gap (or every gap repaired); 1: a gap remains; 2: a relay could not be compared.
    public var exitCode: Int32 { failed ? 2 : gapsRemain ? 1 : 0 }

    enum CodingKeys: String, CodingKey {
        case repair, relays, media
    }

    public var json: String {
        JSONOutput.string(self)
    }

    public var text: String {
        var out: [String] = []
        for r in relays {
            out.append("\(r.url) [\(r.role)]\(r.scope == "authors" ? "" : " \(r.scope)") by \(r.method)")
            if let error = r.error {
                out.append("  FAILED: \(error)")
                continue
            }
            out.append(
                "  ledger \(r.ledgerEvents), relay \(r.relayEvents.map(String.init) ?? "?"), missing on the relay \(r.missingOnRelay), missing from the ledger \(r.missingInLedger)"
            )
            if repair {
                out.append(
                    "  repaired: \(r.fetched) fetched into the ledger, \(r.requeued) sent again (\(r.lostAfterDelivery) lost after delivery), \(r.pendingAfter) still pending"
                )
            }
        }
        if let media { out += media.lines.map { String($0.dropFirst(2)) } }
        out.append(
            failed
                ? "audit: a relay could not be compared"
                : gapsRemain ? "audit: gaps remain\(repair ? "" : " (run with --repair to fix them)")" : "audit: no gaps")
        return out.joined(separator: "\n")
    }
}
