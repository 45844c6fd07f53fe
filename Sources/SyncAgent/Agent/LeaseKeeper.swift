import Foundation
import Ledger
import LedgerPostgres
import Logging
import ServiceLifecycle

/// On a PostgreSQL ledger: the agent's share of the cluster's work, held through leases. Each
/// round it renews what it holds (`LeaseTable` decides when, and when a lease can no longer be
/// trusted), takes free or expired resources up to its fair share and gives back its excess
/// (`LeaseBalance` decides which); the work a lease covers starts when it is granted and is
/// cancelled when it is lost or given back. On graceful shutdown every piece of work stops first,
/// then every lease is given back, so the others take over at once instead of after an expiry.
struct LeaseKeeper: Service {
    /// The work one lease covers, run while it is held; its writes go through a `FencedLedger`
    /// carrying the lease.
    typealias Work = @Sendable (HeldLease) async throws -> Void

    let ledger: PostgresLedger
    let identity: AgentIdentity
    let period: Duration
    /// Every resource of the configuration (`read:<url>`, `deliver:<url>`, `archive`) and its work.
    let work: [String: Work]
    let logger: Logger

    /// Often enough to renew a lease between a third and half of its period, and to notice a
    /// lost one (after a pause) within a sixth of it.
    var round: Duration { period / 6 }

    /// The longest the keeper waits for one ledger call: a round blocked on an unreachable
    /// database must not keep it from stopping work whose lease runs out meanwhile.
    var callLimit: Duration { period / 4 }

    private struct State {
        /// Where the table's clock (seconds) starts.
        let origin: ContinuousClock.Instant
        var table: LeaseTable
        var balance: LeaseBalance
        /// A resource whose work failed is not taken again by this agent before then.
        var cooldown: [String: Double] = [:]

        /// Until when the work may trust the lease, as the table decided.
        func trustedUntil(_ resource: String) -> ContinuousClock.Instant {
            origin + .seconds(table.held[resource]?.validUntil ?? 0)
        }
    }

    func run() async throws {
        let running = RunningWork(abandonAfter: period)
        let origin = ContinuousClock.now
        let seconds = Self.seconds(period)
        await cancelWhenGracefulShutdown {
            var state = State(
                origin: origin, table: LeaseTable(period: seconds), balance: LeaseBalance(agent: identity.id, resources: Array(work.keys), period: seconds))
            let now = { Self.seconds(origin.duration(to: .now)) }
            var wait = min(round, .seconds(1))
            while !Task.isCancelled {
                // A wait first, even before the first round: the agents starting together have
                // heartbeated by then, so the first shares are mostly counted with all of them.
                try? await Task.sleep(for: wait)
                wait = round
                guard !Task.isCancelled else { break }
                await settleEnded(&state, running, now: now())
                await renew(&state, running, now: now)
                await balance(&state, running, now: now)
            }
        }
        // Graceful shutdown: the work ends first (nothing written after the leases are given back),
        // within half a period so that the leases are still ours while it does.
        await running.finish(within: period / 2)
        do {
            let (ledger, holder) = (ledger, identity.id)
            let released = try await withDeadline(callLimit) { try await ledger.releaseAll(holder: holder) }
            logger.info("leases given back", metadata: ["agent.id": "\(identity.id)", "leases": "\(released)"])
        } catch {
            logger.warning("leases not given back at shutdown; they expire", metadata: ["agent.id": "\(identity.id)", "error": "\(error)"])
        }
    }

    /// Work that ended by itself while its lease was held (it failed, or a fenced write found the
    /// lease lost): the lease goes back, and this agent waits a period before taking it again.
    private func settleEnded(_ state: inout State, _ running: RunningWork, now: Double) async {
        for ended in running.takeEnded() {
            _ = state.table.refused(ended.token.resource)
            state.cooldown[ended.token.resource] = now + state.balance.period
            if ended.error is LeaseLost {
                logger.warning("lease lost; its work stopped", metadata: metadata(ended.token))
            } else {
                var m = metadata(ended.token)
                m["error"] = "\(ended.error.map { "\($0)" } ?? "ended")"
                logger.warning("leased work failed; giving the lease back", metadata: m)
            }
            let (ledger, token) = (ledger, ended.token)
            _ = try? await withDeadline(callLimit) { try await ledger.release(token) }
        }
    }

    private func renew(_ state: inout State, _ running: RunningWork, now: () -> Double) async {
        for action in state.table.tick(now: now()) {
            switch action {
            case let .renew(resource, generation):
                let token = LeaseToken(resource: resource, holder: identity.id, generation: generation)
                let sentAt = now()
                do {
                    if try await withDeadline(callLimit, { [ledger, period] in try await ledger.renew(token, period: period) }) {
                        state.table.granted(resource, generation: generation, requestSentAt: sentAt)
                        running.extend(resource, generation: generation, to: state.trustedUntil(resource))
                    } else {
                        logger.warning("lease renewal refused; its work stops", metadata: metadata(token))
                        for case let .stop(resource) in state.table.refused(resource) { running.stop(resource) }
                    }
                } catch {
                    var m = metadata(token)
                    m["error"] = "\(error)"
                    logger.warning("lease not renewed; retrying while it lasts", metadata: m)
                    state.table.renewalFailed(resource)
                }
            case let .stop(resource):
                // Past the time it can be trusted (the agent was paused, or the ledger unreachable).
                logger.warning("lease expired before renewal; its work stops", metadata: ["agent.id": "\(identity.id)", "resource": "\(resource)"])
                running.stop(resource)
            case .release:
                break
            }
        }
    }

    private func balance(_ state: inout State, _ running: RunningWork, now: () -> Double) async {
        let holders: [String: String]
        let ages: [String: Double]
        do {
            let ledger = ledger
            holders = Dictionary(
                try await withDeadline(callLimit) { try await ledger.leases() }.compactMap { lease in
                    lease.holder.flatMap { lease.expiresIn > 0 ? (lease.resource, $0) : nil }
                },
                uniquingKeysWith: { a, _ in a })
            ages = Dictionary(try await withDeadline(callLimit) { try await ledger.agents() }.map { ($0.id, $0.secondsSinceHeartbeat) }, uniquingKeysWith: min)
        } catch {
            logger.warning("leases not read; holding what is held", metadata: ["agent.id": "\(identity.id)", "error": "\(error)"])
            return
        }
        let at = now()
        let plan = state.balance.plan(holders: holders, heartbeatAge: ages, now: at)
        for resource in plan.release {
            guard let generation = state.table.held[resource]?.generation else { continue }
            let token = LeaseToken(resource: resource, holder: identity.id, generation: generation)
            _ = state.table.refused(resource)
            logger.info("lease given back to balance the cluster", metadata: metadata(token))
            let ledger = ledger
            running.stop(resource) { _ = try? await ledger.release(token) }
        }
        for resource in plan.acquire {
            let busy = running.busy(resource)
            if let abandoned = busy.abandoned {
                logger.error("leased work did not stop within a lease period; let go (it can no longer write)", metadata: metadata(abandoned))
            }
            guard state.table.held[resource] == nil, !busy.busy, (state.cooldown[resource] ?? 0) <= at, let work = work[resource] else { continue }
            let sentAt = now()
            do {
                let (holder, period) = (identity.id, period)
                guard let token = try await withDeadline(callLimit, { try await ledger.acquire(resource, holder: holder, period: period) }) else { continue }
                state.table.granted(resource, generation: token.generation, requestSentAt: sentAt)
                logger.info("lease taken; its work starts", metadata: metadata(token))
                running.start(HeldLease(token, validUntil: state.trustedUntil(resource)), work)
            } catch {
                logger.warning("lease not taken", metadata: ["agent.id": "\(identity.id)", "resource": "\(resource)", "error": "\(error)"])
                return
            }
        }
    }

    private func metadata(_ token: LeaseToken) -> Logger.Metadata {
        ["agent.id": "\(identity.id)", "resource": "\(token.resource)", "generation": "\(token.generation)"]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
