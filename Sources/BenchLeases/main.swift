import Foundation
import LedgerPostgres
import Logging
import PeerHarness

// scripts/bench-postgres (second part): 100 simulated agents, each with its own identity and its
// own connection pool as in a real cluster (here tasks of one process), over 10,000 `read:`
// resources in one PostgreSQL 15 started here (127.0.0.1, a free port, stopped by PID; fsync on,
// synchronous_commit off as in bench-agent --postgres). Measured: renewals per second one lease per
// statement and a holder's leases per statement, the database's CPU per renewal (utime + stime of
// the postmaster and its backends from /proc, before and after), and the takeover latency after an
// agent vanishes. BENCH_AGENTS, BENCH_RESOURCES, BENCH_SECONDS (per renewal phase, default 10) and
// BENCH_PERIOD (the takeover phase's lease period, default 10 s) change the sizes.

let env = ProcessInfo.processInfo.environment
let agentCount = Int(env["BENCH_AGENTS"] ?? "") ?? 100
let resourceCount = Int(env["BENCH_RESOURCES"] ?? "") ?? 10_000
let phaseSeconds = Double(env["BENCH_SECONDS"] ?? "") ?? 10
let period = Double(env["BENCH_PERIOD"] ?? "") ?? 10
let quiet: Logger = {
    var l = Logger(label: "bench-leases")
    l.logLevel = .error
    return l
}()

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
func holder(_ a: Int) -> String { "bench-host:\(100_000 + a)" }
func resource(_ i: Int) -> String { "read:ws://127.0.0.1:\(20_000 + i)" }
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

/// Counts and latencies shared by the agents' tasks.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var statements = 0
    private var leases = 0
    private var latencies: [Double] = []
    func note(leases n: Int, latency: Double) {
        lock.withLock {
            statements += 1
            leases += n
            latencies.append(latency)
        }
    }
    var value: (statements: Int, leases: Int, latencies: [Double]) { lock.withLock { (statements, leases, latencies.sorted()) } }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}

struct Phase {
    var name: String
    var seconds: Double
    var statements: Int
    var leases: Int
    var databaseCPU: Double
    var benchCPU: Double
    var latencies: [Double]

    func report() {
        print(
            "  \(name): \(leases) renewals in \(statements) statements over \(f(seconds, 1)) s = \(f(Double(leases) / seconds)) renewals/s, \(f(Double(statements) / seconds)) statements/s; latency per statement p50 \(f(percentile(latencies, 0.5), 2)) ms, p99 \(f(percentile(latencies, 0.99), 2)) ms"
        )
        print(
            "    PostgreSQL CPU \(f(databaseCPU, 2)) s = \(f(databaseCPU / Double(max(leases, 1)) * 1e6, 1)) µs per renewal, \(f(databaseCPU / Double(max(statements, 1)) * 1e6, 1)) µs per statement; the agents' process \(f(benchCPU, 2)) s"
        )
    }
}

/// Runs `body` for each agent concurrently until `seconds` pass; measures the database's and this process's CPU.
func measure(_ name: String, server: PostgresServer, seconds: Double, _ body: @escaping @Sendable (Int, Tally, ContinuousClock.Instant) async throws -> Void)
    async throws -> Phase
{
    let tally = Tally()
    let database0 = ProcessCPU.postgresSeconds(postmaster: server.pid)
    let own0 = ProcessCPU.ownSeconds()
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int(seconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for a in 0..<agentCount { group.addTask { try await body(a, tally, deadline) } }
        try await group.waitForAll()
    }
    let elapsed = (ContinuousClock.now - start) / .seconds(1)
    let t = tally.value
    return Phase(
        name: name, seconds: elapsed, statements: t.statements, leases: t.leases,
        databaseCPU: ProcessCPU.postgresSeconds(postmaster: server.pid) - database0, benchCPU: ProcessCPU.ownSeconds() - own0, latencies: t.latencies)
}

/// Each agent's leases, by agent.
final class Holdings: @unchecked Sendable {
    private let lock = NSLock()
    private var tokens: [[LeaseToken]]
    init(_ count: Int) { tokens = Array(repeating: [], count: count) }
    func set(_ a: Int, _ t: [LeaseToken]) { lock.withLock { tokens[a] = t } }
    func add(_ a: Int, _ t: LeaseToken) { lock.withLock { tokens[a].append(t) } }
    func of(_ a: Int) -> [LeaseToken] { lock.withLock { tokens[a] } }
}

/// When each resource of the vanished agent was taken over.
final class Takeovers: @unchecked Sendable {
    private let lock = NSLock()
    private var at: [String: ContinuousClock.Instant] = [:]
    func note(_ r: String) { lock.withLock { if at[r] == nil { at[r] = .now } } }
    var value: [String: ContinuousClock.Instant] { lock.withLock { at } }
}

/// The vanishing agent's last renewal.
final class LastRenewal: @unchecked Sendable {
    private let lock = NSLock()
    private var at: ContinuousClock.Instant?
    func set(_ t: ContinuousClock.Instant) { lock.withLock { at = t } }
    var value: ContinuousClock.Instant? { lock.withLock { at } }
}

func run(_ server: PostgresServer) async throws {
    let settings = try PostgresLedgerSettings.parse(url: server.url(database: try server.createDatabase(prefix: "leases")))
    // One pool per agent, as each agent of a cluster is a process of its own.
    var opened: [PostgresLedger] = []
    for _ in 0..<agentCount { opened.append(try await PostgresLedger.open(settings, logger: quiet)) }
    let ledgers = opened
    let holdings = Holdings(agentCount)
    print("bench-leases: \(agentCount) agents (tasks of one process, a connection pool each) over \(resourceCount) resources, PostgreSQL 15 on 127.0.0.1")

    let acquired = try await measure("acquire, one lease per statement", server: server, seconds: 0) { a, tally, _ in
        var mine: [LeaseToken] = []
        for i in stride(from: a, to: resourceCount, by: agentCount) {
            let t0 = ContinuousClock.now
            guard let token = try await ledgers[a].acquire(resource(i), holder: holder(a), period: .seconds(60)) else {
                throw PeerError("\(resource(i)) not acquired on an empty table")
            }
            tally.note(leases: 1, latency: (ContinuousClock.now - t0) / .milliseconds(1))
            mine.append(token)
        }
        holdings.set(a, mine)
    }
    acquired.report()

    let single = try await measure("renew, one lease per statement", server: server, seconds: phaseSeconds) { a, tally, deadline in
        let mine = holdings.of(a)
        var k = 0
        while ContinuousClock.now < deadline {
            let t0 = ContinuousClock.now
            guard try await ledgers[a].renew(mine[k % mine.count], period: .seconds(60)) else { throw PeerError("a held lease was not renewed") }
            tally.note(leases: 1, latency: (ContinuousClock.now - t0) / .milliseconds(1))
            k += 1
        }
    }
    single.report()

    let batched = try await measure("renew, a holder's leases per statement", server: server, seconds: phaseSeconds) { a, tally, deadline in
        let mine = holdings.of(a)
        while ContinuousClock.now < deadline {
            let t0 = ContinuousClock.now
            let renewed = try await ledgers[a].renew(mine, period: .seconds(60))
            guard renewed.count == mine.count else { throw PeerError("\(mine.count - renewed.count) held leases not renewed") }
            tally.note(leases: renewed.count, latency: (ContinuousClock.now - t0) / .milliseconds(1))
        }
    }
    batched.report()

    // What looking for work costs: every agent asks for expired leases (none are) in a loop.
    let scans = try await measure("look for expired leases (10,000 rows, none expired)", server: server, seconds: phaseSeconds / 2) { a, tally, deadline in
        while ContinuousClock.now < deadline {
            let t0 = ContinuousClock.now
            let found = try await ledgers[a].expiredLeases(prefix: "read:", limit: 50)
            guard found.isEmpty else { throw PeerError("\(found.count) leases expired while all were held for 60 s") }
            tally.note(leases: 0, latency: (ContinuousClock.now - t0) / .milliseconds(1))
        }
    }
    print(
        "  \(scans.name): \(scans.statements) statements over \(f(scans.seconds, 1)) s = \(f(Double(scans.statements) / scans.seconds)) statements/s; p50 \(f(percentile(scans.latencies, 0.5), 2)) ms"
    )
    print(
        "    PostgreSQL CPU \(f(scans.databaseCPU, 2)) s = \(f(scans.databaseCPU / Double(max(scans.statements, 1)) * 1e6, 1)) µs per statement"
    )

    // Takeover: every agent renews its leases every period/3 (one statement) and looks for expired
    // leases every period/3 too; agent 0 vanishes (stops renewing, as after kill -9).
    let steadyFor = 3 * period
    let vanished = Takeovers()
    // Leases of live agents that expired before their holder renewed them (the holder too slow).
    let churn = Takeovers()
    let lastRenewal = LastRenewal()
    let vanishedResources = Set(holdings.of(0).map(\.resource))
    let start = ContinuousClock.now
    let vanishAt = start + .milliseconds(Int(steadyFor * 1000))
    let steadyEnd = vanishAt + .milliseconds(Int((period * 4 + 10) * 1000))
    let renewEvery = Duration.milliseconds(Int(period * 1000 / 3))
    let steady = try await measure("steady state with takeover, period \(f(period, 1)) s", server: server, seconds: 0) { a, tally, _ in
        // Spread the agents over the interval, as independent processes would be.
        try await Task.sleep(for: .milliseconds(Int(period * 1000 / 3) * a / agentCount))
        while ContinuousClock.now < steadyEnd {
            if a == 0 && ContinuousClock.now >= vanishAt { return }
            let t0 = ContinuousClock.now
            let mine = holdings.of(a)
            let renewed = try await ledgers[a].renew(mine, period: .milliseconds(Int(period * 1000)))
            tally.note(leases: renewed.count, latency: (ContinuousClock.now - t0) / .milliseconds(1))
            if a == 0 { lastRenewal.set(t0) }
            holdings.set(a, mine.filter { renewed.contains($0.resource) })
            if a != 0 {
                // A share of what expired, in a random order so the agents do not all race for the same rows first.
                for r in try await ledgers[a].expiredLeases(prefix: "read:", limit: 50).shuffled().prefix(10) {
                    if let token = try await ledgers[a].acquire(r, holder: holder(a), period: .milliseconds(Int(period * 1000))) {
                        holdings.add(a, token)
                        if vanishedResources.contains(r) { vanished.note(r) } else { churn.note(r) }
                    }
                }
            }
            if vanished.value.count == vanishedResources.count && ContinuousClock.now > vanishAt { return }
            try await Task.sleep(until: t0 + renewEvery)
        }
    }
    let taken = vanished.value
    guard let last = lastRenewal.value else { throw PeerError("the vanishing agent never renewed") }
    let afterLast = taken.values.map { ($0 - last) / .seconds(1) }.sorted()
    let afterExpiry = afterLast.map { $0 - period }
    print(
        "  takeover, lease period \(f(period, 1)) s, renewing and looking for expired leases every \(f(period / 3, 2)) s: agent 0 vanished holding \(vanishedResources.count) leases; \(taken.count) taken over by the others"
    )
    print(
        "    after its last renewal: first \(f(afterLast.first ?? 0, 2)) s, median \(f(percentile(afterLast, 0.5), 2)) s, last \(f(afterLast.last ?? 0, 2)) s; after the lease expired: median \(f(percentile(afterExpiry, 0.5), 2)) s, last \(f(afterExpiry.last ?? 0, 2)) s"
    )
    print("    leases of live agents taken over meanwhile (renewed too late): \(churn.value.count)")
    print(
        "    steady-state renewals meanwhile: \(steady.leases) in \(steady.statements) statements over \(f(steady.seconds, 1)) s; PostgreSQL CPU \(f(steady.databaseCPU, 2)) s = \(f(steady.databaseCPU / steady.seconds * 100, 1)) % of a core; renewal statement p50 \(f(percentile(steady.latencies, 0.5), 2)) ms, p99 \(f(percentile(steady.latencies, 0.99), 2)) ms"
    )
    guard taken.count == vanishedResources.count else {
        throw PeerError("\(vanishedResources.count - taken.count) leases of the vanished agent never taken over")
    }

    // What one core of PostgreSQL carries, from the measured CPU per renewal, renewing every period/3.
    let perSingle = single.databaseCPU / Double(max(single.leases, 1))
    let perBatched = batched.databaseCPU / Double(max(batched.leases, 1))
    print(
        "  one PostgreSQL core renews \(f(1 / perSingle)) leases/s one per statement, \(f(1 / perBatched)) leases/s a holder's \(resourceCount / agentCount) per statement"
    )
    print(
        "    at a 30 s lease period renewed every 10 s: \(f(10 / perSingle)) leases one per statement, \(f(10 / perBatched)) batched, per core of PostgreSQL"
    )
    print("  load average at the end: \(loadAverage())")
    for l in ledgers { await l.close() }
}

let settingsList = env["BENCH_PG_SETTINGS"].map { $0.split(separator: ",").map(String.init) } ?? ["fsync=on", "full_page_writes=on", "synchronous_commit=off"]
let server = try await PostgresServer.start(settings: settingsList)
do {
    try await run(server)
} catch {
    FileHandle.standardError.write(Data("bench-leases: \(error)\n".utf8))
    server.stop()
    exit(1)
}
server.stop()
