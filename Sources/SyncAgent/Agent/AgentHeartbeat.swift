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
            while !Task.isCancelled {
                do {
                    try await ledger.heartbeat(agent: identity.id, host: identity.host, pid: identity.pid)
                } catch {
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
