/// Which leases one agent of a cluster takes and which it gives back, decided without I/O from
/// what the database shows: who holds what unexpired, and which agents heartbeat.
///
/// Each agent's fair share is ceil(resources / live agents). An agent takes free (or expired)
/// resources up to its share, and gives back what it holds above its share while a live agent
/// holds less than its share, so a joining agent is served within two rounds. Agents prefer
/// different resources (a hash of agent and resource), so those starting together rarely race
/// for the same row; the database settles the races that remain.
///
/// A dead agent still counts as live until its heartbeat is two periods old, which can make
/// the survivors' shares too small to cover everything for that while: a resource seen free for
/// a whole period is then taken above the share, since work nobody does is worse than an uneven
/// split. Such an agent gives nothing back to an agent whose heartbeat is over a period old.
///
/// Times are seconds on the agent's monotonic clock (any origin).
public struct LeaseBalance: Sendable, Equatable {
    public struct Plan: Sendable, Equatable {
        public var acquire: [String] = []
        public var release: [String] = []

        public init(acquire: [String] = [], release: [String] = []) {
            self.acquire = acquire
            self.release = release
        }
    }

    public let agent: String
    /// Every resource the configuration names, the same list on every agent.
    public let resources: [String]
    public let period: Double
    /// When each resource was first seen free, while it stays free.
    public private(set) var freeSince: [String: Double] = [:]

    public init(agent: String, resources: [String], period: Double) {
        precondition(period > 0)
        self.agent = agent
        self.resources = resources.sorted()
        self.period = period
    }

    /// ceil(resources / agents), at least one.
    public static func share(resources: Int, agents: Int) -> Int {
        let n = max(1, agents)
        return max(1, (resources + n - 1) / n)
    }

    /// What to do at `now`, given the holder of each unexpired lease (a resource absent is free)
    /// and each agent's seconds since its last heartbeat.
    public mutating func plan(holders: [String: String], heartbeatAge: [String: Double], now: Double) -> Plan {
        var live = Set(heartbeatAge.filter { $0.value < 2 * period }.keys)
        live.insert(agent)
        let share = Self.share(resources: resources.count, agents: live.count)
        var held: [String: Int] = [:]
        for resource in resources { if let holder = holders[resource] { held[holder, default: 0] += 1 } }
        let mine = resources.filter { holders[$0] == agent }
        let free = resources.filter { holders[$0] == nil }
        freeSince = freeSince.filter { free.contains($0.key) }
        for resource in free where freeSince[resource] == nil { freeSince[resource] = now }

        var plan = Plan()
        let preferred = free.sorted { preference($0) < preference($1) }
        plan.acquire = Array(preferred.prefix(max(0, share - mine.count)))
        for resource in preferred where !plan.acquire.contains(resource) {
            if let since = freeSince[resource], now - since >= period { plan.acquire.append(resource) }
        }
        // Given back only to an agent that is surely alive (heartbeat within a period) and short.
        let someoneShort = live.contains { other in
            other != agent && (heartbeatAge[other] ?? .infinity) < period && held[other, default: 0] < share
        }
        if mine.count > share, someoneShort {
            plan.release = Array(mine.sorted { preference($0) > preference($1) }.prefix(mine.count - share))
        }
        return plan
    }

    /// Lower is preferred: FNV-1a of agent and resource, the same on every run and machine
    /// (Swift's `hashValue` is seeded per process), then mixed (MurmurHash3's finaliser) so that
    /// agents whose ids differ in a byte or two still order resources differently.
    func preference(_ resource: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(agent)\u{0}\(resource)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }
}
