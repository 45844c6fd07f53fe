import Foundation
import LedgerPostgres

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

    public var ledger: String
    public var events: Int
    public var pending: [String: Int]
    public var agents: [Agent]
    public var leases: [Lease]

    public static func make(configuration: SyncConfiguration, settings: PostgresLedgerSettings) async throws -> PostgresStatusReport {
        let ledger = try await PostgresLedger.open(settings)
        do {
            var pending: [String: Int] = [:]
            for entry in configuration.writableRelays { pending[entry.url] = try await ledger.pendingCount(relay: entry.url) }
            let report = PostgresStatusReport(
                ledger: settings.displayURL, events: try await ledger.eventCount(), pending: pending,
                agents: try await ledger.agents().map {
                    Agent(id: $0.id, host: $0.host, pid: $0.pid, secondsSinceHeartbeat: Int($0.secondsSinceHeartbeat.rounded()))
                },
                leases: try await ledger.leases().map {
                    Lease(resource: $0.resource, holder: $0.holder, generation: $0.generation, expiresInSeconds: Int($0.expiresIn.rounded()))
                })
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
        lines.append(leases.isEmpty ? "leases: none" : "leases:")
        for l in leases {
            let state = l.expiresInSeconds > 0 ? "expires in \(l.expiresInSeconds) s" : "expired"
            lines.append("  \(l.resource): \(l.holder ?? "free"), generation \(l.generation), \(state)")
        }
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
