import Ledger
import PeerHarness
import Testing

/// A cluster's split of the work, decided without I/O: each agent takes up to its fair share,
/// gives back its excess to a live agent that is short, and never leaves work undone for long
/// because a dead agent is still counted.
@Suite struct LeaseBalanceTests {
    static let resources = ["archive", "deliver:ws://b1", "deliver:ws://b2", "read:ws://p1", "read:ws://p2"]

    @Test func shareIsTheCeilingOfResourcesOverAgents() {
        #expect(LeaseBalance.share(resources: 5, agents: 3) == 2)
        #expect(LeaseBalance.share(resources: 4, agents: 3) == 2)
        #expect(LeaseBalance.share(resources: 6, agents: 3) == 2)
        #expect(LeaseBalance.share(resources: 1, agents: 4) == 1)
        #expect(LeaseBalance.share(resources: 0, agents: 0) == 1)
    }

    @Test func aLoneAgentTakesEverythingFree() {
        var a = LeaseBalance(agent: "a", resources: Self.resources, period: 3)
        let plan = a.plan(holders: [:], heartbeatAge: ["a": 0], now: 0)
        #expect(Set(plan.acquire) == Set(Self.resources))
        #expect(plan.release.isEmpty)
    }

    @Test func agentsTakeUpToTheirShareAndPreferDifferentResources() {
        let ages = ["a": 0.0, "b": 0.0, "c": 0.0]
        var a = LeaseBalance(agent: "a", resources: Self.resources, period: 3)
        var b = LeaseBalance(agent: "b", resources: Self.resources, period: 3)
        let planA = a.plan(holders: [:], heartbeatAge: ages, now: 0)
        let planB = b.plan(holders: [:], heartbeatAge: ages, now: 0)
        #expect(planA.acquire.count == 2 && planB.acquire.count == 2)
        // Each agent's first choice differs for most names; what remains is settled by the database.
        #expect(planA.acquire != planB.acquire)
        // Holding its share already, it asks for nothing more.
        let holders = Dictionary(uniqueKeysWithValues: planA.acquire.map { ($0, "a") })
        #expect(a.plan(holders: holders, heartbeatAge: ages, now: 1) == .init())
    }

    /// A joining agent: the one holding everything gives back its excess, the least preferred first.
    @Test func theExcessGoesBackWhenALiveAgentIsShort() {
        var a = LeaseBalance(agent: "a", resources: Self.resources, period: 3)
        let all = Dictionary(uniqueKeysWithValues: Self.resources.map { ($0, "a") })
        #expect(a.plan(holders: all, heartbeatAge: ["a": 0], now: 0) == .init())
        let plan = a.plan(holders: all, heartbeatAge: ["a": 0, "b": 0.5], now: 1)
        #expect(plan.acquire.isEmpty)
        #expect(plan.release.count == 2)
        // The joining agent takes what was given back, up to its share.
        var b = LeaseBalance(agent: "b", resources: Self.resources, period: 3)
        var after = all
        for r in plan.release { after[r] = nil }
        #expect(Set(b.plan(holders: after, heartbeatAge: ["a": 0, "b": 0], now: 2).acquire) == Set(plan.release))
    }

    /// A dead agent (no heartbeat for over two periods) no longer counts: the survivors' shares grow.
    @Test func aDeadAgentsResourcesMoveToTheSurvivors() {
        var a = LeaseBalance(agent: "a", resources: Self.resources, period: 3)
        let holders = ["archive": "a", "read:ws://p1": "a", "deliver:ws://b1": "b"]
        // c died holding the other two; its leases have expired (they are absent), its heartbeat is old.
        let plan = a.plan(holders: holders, heartbeatAge: ["a": 0, "b": 0, "c": 7], now: 0)
        #expect(plan.acquire.count == 1)  // share ceil(5/2) = 3, a holds 2
        #expect(plan.release.isEmpty)
    }

    /// While a dead agent still counts as live, a resource left free for a whole period is taken
    /// above the share; and nothing is given back to an agent whose heartbeat is over a period old.
    @Test func workLeftFreeForAPeriodIsTakenAboveTheShare() {
        var a = LeaseBalance(agent: "a", resources: Self.resources, period: 3)
        let holders = ["archive": "a", "read:ws://p1": "a", "deliver:ws://b1": "b", "deliver:ws://b2": "b"]
        let ages = ["a": 0.0, "b": 0.0, "c": 4.0]
        #expect(a.plan(holders: holders, heartbeatAge: ages, now: 10).acquire.isEmpty)
        #expect(a.plan(holders: holders, heartbeatAge: ages, now: 12).acquire.isEmpty)
        #expect(a.plan(holders: holders, heartbeatAge: ages, now: 13).acquire == ["read:ws://p2"])
        var over = holders
        over["read:ws://p2"] = "a"
        #expect(a.plan(holders: over, heartbeatAge: ages, now: 14).release.isEmpty)
        // Taken meanwhile by someone else: the clock starts again when it is next free.
        var b = LeaseBalance(agent: "b", resources: Self.resources, period: 3)
        _ = b.plan(holders: holders, heartbeatAge: ages, now: 10)
        _ = b.plan(holders: over, heartbeatAge: ages, now: 11)
        #expect(b.plan(holders: holders, heartbeatAge: ages, now: 13).acquire.isEmpty)
    }
}
