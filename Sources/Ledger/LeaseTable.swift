/// What one agent believes about the leases it holds, decided without I/O: when to renew, and when
/// to stop the work a lease covers because the database may already have given it to another
/// agent. The database's generation check (fencing) is what makes a stale holder's writes affect
/// nothing; this value makes the holder stop trying before that, using only its own monotonic
/// clock: a lease is trusted until the moment the request that granted it was *sent*, plus the
/// period, less a margin for the database's and the agent's clocks running at different rates.
///
/// Times are seconds on the agent's monotonic clock (any origin).
public struct LeaseTable: Sendable, Equatable {
    public struct Held: Sendable, Equatable {
        public var generation: Int64
        /// Until when the agent may act on it.
        public var validUntil: Double
        /// When a renewal was sent and not yet answered.
        public var renewalSentAt: Double?
    }

    public enum Action: Sendable, Equatable {
        /// Ask the database to extend this lease (carrying its generation).
        case renew(resource: String, generation: Int64)
        /// Stop the work this lease covers: it may belong to someone else now.
        case stop(resource: String)
        /// Give the lease back (graceful shutdown).
        case release(resource: String, generation: Int64)
    }

    public let period: Double
    /// The share of the period kept back for clock-rate differences and the request's own trip.
    public let margin: Double
    public private(set) var held: [String: Held] = [:]

    public init(period: Double, margin: Double = 0.1) {
        precondition(period > 0 && margin >= 0 && margin < 0.5)
        self.period = period
        self.margin = margin
    }

    /// The database granted (acquired or renewed) `resource` at `generation` for a request sent at
    /// `sentAt`.
    public mutating func granted(_ resource: String, generation: Int64, requestSentAt sentAt: Double) {
        held[resource] = Held(generation: generation, validUntil: sentAt + period * (1 - margin), renewalSentAt: nil)
    }

    /// The database refused a renewal (expired there, taken, or released): stop at once.
    public mutating func refused(_ resource: String) -> [Action] {
        held.removeValue(forKey: resource) == nil ? [] : [.stop(resource: resource)]
    }

    /// The generation to write under, if the lease can still be trusted at `now`.
    public func generation(of resource: String, at now: Double) -> Int64? {
        guard let lease = held[resource], now < lease.validUntil else { return nil }
        return lease.generation
    }

    /// What is due at `now`: leases past their trusted time are dropped (stop), and those past a
    /// third of their period with no renewal in flight are renewed.
    public mutating func tick(now: Double) -> [Action] {
        var actions: [Action] = []
        for resource in held.keys.sorted() {
            guard var lease = held[resource] else { continue }
            if now >= lease.validUntil {
                held.removeValue(forKey: resource)
                actions.append(.stop(resource: resource))
                continue
            }
            let renewAt = lease.validUntil - period * (1 - margin) + period / 3
            if now >= renewAt, lease.renewalSentAt == nil {
                lease.renewalSentAt = now
                held[resource] = lease
                actions.append(.renew(resource: resource, generation: lease.generation))
            }
        }
        return actions
    }

    /// A renewal answered with an error (the database unreachable): try again on the next tick;
    /// the lease stays trusted only until its time runs out.
    public mutating func renewalFailed(_ resource: String) {
        held[resource]?.renewalSentAt = nil
    }

    /// Everything held, to give back on SIGTERM; the table is empty afterwards.
    public mutating func releaseAll() -> [Action] {
        let actions = held.sorted { $0.key < $1.key }.flatMap { resource, lease -> [Action] in
            [.stop(resource: resource), .release(resource: resource, generation: lease.generation)]
        }
        held.removeAll()
        return actions
    }
}
