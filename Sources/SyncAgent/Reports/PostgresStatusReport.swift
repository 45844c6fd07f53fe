import Foundation
import LedgerPostgres
import NostrCore

/// `status` on a PostgreSQL ledger: the ledger's counts, the agents with their last heartbeat, and
/// who holds which lease.
public struct PostgresStatusReport: Sendable, Codable {
    public struct Agent: Sendable, Codable {
        public var id: String
        public var host: String
        public var pid: Int32
        public var secondsSinceHeartbeat: Int
    }
    public struct Lease: Sendable, Codable {
        public var resource: String
        public var holder: String?
        public var generation: Int64
        public var expiresInSeconds: Int
    }

    /// A time an agent could not reach the database (unix seconds, by that agent's clock).
    public struct Outage: Sendable, Codable {
        public var agent: String
        public var startedAt: Int64
        public var endedAt: Int64
        public var error: String
    }

    public var ledger: String
    public var events: Int
    public var pending: [String: Int]
    public var agents: [Agent]
    public var leases: [Lease]
    /// `cluster.lease_period`, in seconds.
    public var leasePeriodSeconds: Double = 0
    /// The latest times agents could not reach the database, newest first.
    public var outages: [Outage] = []

    public static func make(configuration: SyncConfiguration, settings: PostgresLedgerSettings) async throws -> PostgresStatusReport {
        let ledger = try await PostgresLedger.open(settings)
        do {
            var pending: [String: Int] = [:]
            for entry in configuration.writableRelays { pending[entry.url.normalized] = try await ledger.pendingCount(relay: entry.url) }
            var report = PostgresStatusReport(
                ledger: settings.displayURL, events: try await ledger.eventCount(), pending: pending,
                agents: try await ledger.agents().map {
                    Agent(id: $0.id, host: $0.host, pid: $0.pid, secondsSinceHeartbeat: Int($0.secondsSinceHeartbeat.rounded()))
                },
                leases: try await ledger.leases().map {
                    Lease(resource: $0.resource, holder: $0.holder, generation: $0.generation, expiresInSeconds: Int($0.expiresIn.rounded()))
                })
            report.leasePeriodSeconds = configuration.leasePeriod.seconds
            report.outages = try await ledger.recentOutages().map {
                Outage(agent: $0.agent, startedAt: $0.startedAt, endedAt: $0.endedAt, error: $0.error)
            }
            await ledger.close()
            return report
        } catch {
            await ledger.close()
            throw error
        }
    }

    public var text: String {
        var lines = ["ledger \(ledger): \(events) events"]
        for (relay, n) in pending.sorted(by: { $0.key < $1.key }) { lines.append("  \(relay): \(n) pending") }
        lines.append(agents.isEmpty ? "agents: none" : "agents:")
        for a in agents { lines.append("  \(a.id) (host \(a.host), PID \(a.pid)): last heartbeat \(a.secondsSinceHeartbeat) s ago") }
        lines.append(leases.isEmpty ? "leases: none" : "leases (period \(Self.format(leasePeriodSeconds)) s):")
        for l in leases {
            let state = l.expiresInSeconds > 0 ? "expires in \(l.expiresInSeconds) s" : "expired"
            lines.append("  \(l.resource): \(l.holder ?? "free"), generation \(l.generation), \(state)")
        }
        if !outages.isEmpty { lines.append("ledger unreachable:") }
        for o in outages {
            let from = Date(timeIntervalSince1970: TimeInterval(o.startedAt)).formatted(.iso8601)
            lines.append("  \(o.agent): from \(from) for \(o.endedAt - o.startedAt) s: \(o.error.prefix(200))")
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // snake_case like every other `--json` output (docs/status.md).
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
