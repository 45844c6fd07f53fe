import Foundation
import Ledger
import NostrCore
import RelayClient

/// `relaysync relays`: every relay in use, where it came from, its role,
/// score and last recorded health, from the config and the ledger (the
/// daemon records health every 30 s; discovery caches relay lists). The
/// discovered set is the plan the agent would make from the cached lists.
public struct RelaysReport: Sendable, Codable {
    public struct Line: Sendable, Codable {
        public var url: RelayURL
        /// "configured", "indexer" or "discovered".
        public var origin: String
        /// primary, backup, both, indexer, or "primary (discovered)".
        public var role: ReportRole
        /// For discovered relays, the authors (hex) whose relay lists name it.
        public var pubkeys: [String]
        public var score: Double
        /// nil until the agent has connected to the relay once.
        public var health: RelayHealthFigures?
        public var healthRecordedAt: Int64?
        public var lastSuccessAt: Int64?
        public var lastError: String?
        /// What the relay's NIP-11 document says that limits its use.
        public var notes: [String]
        /// Which scopes a discovered relay is read for ("authors", "inbox").
        public var scopes: [String] = []
        /// Whose inbox it is read for, and which kinds (DM relays: private messages).
        public var inbox: DiscoveryPlan.InboxAssignment? = nil

        enum CodingKeys: String, CodingKey {
            case url, origin, role, pubkeys, score, health, notes, scopes, inbox
            case healthRecordedAt = "health_recorded_at"
            case lastSuccessAt = "last_success_at"
            case lastError = "last_error"
        }
    }

    public struct Skipped: Sendable, Codable {
        public var url: String
        public var reason: String
    }

    public var relays: [Line]
    /// Relays named by relay lists but not used.
    public var skipped: [Skipped]
    /// Authors with a cached relay list.
    public var authorsWithRelayLists: Int

    enum CodingKeys: String, CodingKey {
        case relays, skipped
        case authorsWithRelayLists = "authors_with_relay_lists"
    }

    public static func make(configuration: SyncConfiguration, ledger: Ledger) throws -> RelaysReport {
        let (health, info, recordedAt) = DiscoveryRecords.figures(try ledger.relayHealthRecords())
        let stats = Dictionary(try ledger.relayStatistics().map { ($0.relay, $0) }, uniquingKeysWith: { a, _ in a })
        let hasKey = (try? configuration.loadSecretKey()) != nil

        func line(_ url: RelayURL, origin: String, role: ReportRole, pubkeys: [String] = [], auth: Bool = false) -> Line {
            let policy = RelayContentPolicy(information: info[url], hasKey: auth && hasKey)
            let notes = role.isWritable ? policy.writeNotes : policy.readSkipReason.map { [$0] } ?? []
            return Line(
                url: url, origin: origin, role: role, pubkeys: pubkeys, score: RelaySelection.score(health[url] ?? .unmeasured),
                health: health[url], healthRecordedAt: health[url] == nil ? nil : recordedAt[url],
                lastSuccessAt: stats[url]?.lastSuccessAt, lastError: stats[url]?.lastError, notes: notes)
        }

        var lines = configuration.relays.map { line($0.url, origin: "configured", role: ReportRole($0.role), auth: $0.auth) }
        var skipped: [Skipped] = []
        var authorsWithLists = 0
        if configuration.discover.enabled {
            let configured = Set(configuration.relays.map(\.url))
            lines += configuration.discover.indexers.filter { !configured.contains($0) }.map { line($0, origin: "indexer", role: .indexer) }
            let lists = DiscoveryRecords.relayLists(try ledger.authorMetadata(kind: RelayListMetadata.kind, pubkeys: configuration.pubkeys))
            authorsWithLists = lists.count
            let refusals = RelayContentPolicy.readRefusals(info.mapValues { $0 }, hasKey: hasKey)
            var input = DiscoveryPlan.Input(
                lists: lists, configured: configured, limitPerPubkey: configuration.discover.maxRelaysPerPubkey,
                health: health, refusals: refusals, allowPrivateAddresses: configuration.discover.allowPrivateAddresses)
            if configuration.inbox.enabled {
                input.inboxKinds = configuration.inbox.kinds
                input.dmRelays = DiscoveryRecords.directMessageRelays(try ledger.authorMetadata(kind: Kind.dmRelayList, pubkeys: configuration.pubkeys))
            }
            let plan = DiscoveryPlan(input)
            lines += plan.everyRelay.map { url in
                var l = line(url, origin: "discovered", role: .discovered, pubkeys: plan.readers[url] ?? [])
                l.scopes = (plan.readers[url] == nil ? [] : ["authors"]) + (plan.inbox[url] == nil ? [] : ["inbox"])
                l.inbox = plan.inbox[url]
                return l
            }
            skipped = plan.skipped.sorted { $0.key < $1.key }.map { Skipped(url: $0.key, reason: $0.value) }
        }
        return RelaysReport(relays: lines, skipped: skipped, authorsWithRelayLists: authorsWithLists)
    }

    public var json: String {
        JSONOutput.string(self)
    }

    public var text: String {
        var out: [String] = []
        for r in relays {
            out.append("\(r.url) [\(r.role), \(r.origin)] score \(String(format: "%.2f", r.score))")
            if !r.pubkeys.isEmpty {
                out.append("  for \(r.pubkeys.map { NIP19.encode(.npub($0)) }.joined(separator: ", "))")
            }
            if let inbox = r.inbox {
                out.append(
                    "  inbox (kinds \(inbox.kinds.map(String.init).joined(separator: ","))) of \(inbox.recipients.map { NIP19.encode(.npub($0)) }.joined(separator: ", "))"
                )
            }
            if let h = r.health {
                let latency = h.medianLatencyMs.map { String(format: "%.0f ms", $0) } ?? "n/a"
                out.append(
                    "  uptime \(String(format: "%.0f%%", h.uptimeRatio * 100)), REQ-to-EOSE median \(latency), errors \(String(format: "%.1f%%", h.errorRate * 100)), rejections \(String(format: "%.1f%%", h.rejectionRate * 100)), \(h.eventsServed) events served"
                )
            } else {
                out.append("  not measured yet")
            }
            if let e = r.lastError { out.append("  last error: \(e)") }
            for note in r.notes { out.append("  note: \(note)") }
        }
        for s in skipped { out.append("skipped \(s.url): \(s.reason)") }
        return out.joined(separator: "\n")
    }
}
