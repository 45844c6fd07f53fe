import Foundation
import LedgerPostgres
import Logging
import ServiceLifecycle

/// On a PostgreSQL ledger: this agent's row in `agents` (id, host, PID), its heartbeat refreshed
/// every `interval` (a third of the lease period: the others count it live while it is under two
/// periods old), and on graceful shutdown every lease it holds given back at once (the
/// `LeaseKeeper`, stopped before it, has normally given them back already).
struct AgentHeartbeat: Service {
    let ledger: PostgresLedger
    let identity: AgentIdentity
    var interval: Duration = .seconds(10)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // Since when, and why, the database has not answered: written down once it does, so
            // `status` says what happened while it was away.
            var down: (since: Int64, error: String)?
            while !Task.isCancelled {
                do {
                    // Bounded: the pool would otherwise wait for the database to come back, and the
                    // outage would never be noticed.
                    let (ledger, identity) = (ledger, identity)
                    try await withDeadline(max(interval, .seconds(1))) {
                        try await ledger.heartbeat(agent: identity.id, host: identity.host, pid: identity.pid)
                    }
                    if let outage = down {
                        let back = WallClock.unixNow()
                        try await ledger.noteOutage(LedgerOutage(agent: identity.id, startedAt: outage.since, endedAt: back, error: outage.error))
                        logger.notice("ledger reachable again", metadata: ["agent.id": "\(identity.id)", "ledger.down_seconds": "\(back - outage.since)"])
                        down = nil
                    }
                } catch {
                    if down == nil { down = (WallClock.unixNow(), "\(error)") }
                    logger.warning("heartbeat not recorded", metadata: ["agent.id": "\(identity.id)", "error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        do {
            try await ledger.releaseAll(holder: identity.id)
        } catch {
            logger.warning("leases not given back at shutdown; they expire", metadata: ["agent.id": "\(identity.id)", "error": "\(error)"])
        }
    }
}

/// Who this agent is in a cluster: `host:pid`, unique while it runs.
public struct AgentIdentity: Sendable, Equatable {
    public let host: String
    public let pid: Int32
    public var id: String { "\(host):\(pid)" }

    public static var current: AgentIdentity {
        AgentIdentity(host: ProcessInfo.processInfo.hostName, pid: getpid())
    }
}
