import Foundation
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Several `relaysync run` agents (child processes) splitting two primaries and two backups (real
/// test relays, both kinds) through leases in one PostgreSQL ledger on 127.0.0.1, with a short
/// lease period. One agent is killed or paused in the middle of a mirror; the others take its
/// relays over and every backup ends with exactly what the primaries hold.
@Suite(
    .serialized,
    .enabled(if: PostgresServer.isAvailable && (try? PeerEnvironment.venv()) != nil, "needs postgresql-15 and the test-peer virtual environment"))
struct ClusterFailoverTests {
    /// The cluster's lease period, in seconds.
    static let period = 2

    @Test func aKilledAgentsLeasesMoveWithinAPeriodAndEveryBackupEndsExact() async throws {
        let rig = try await ClusterRig.start(authors: 300)
        defer { rig.stop() }
        let early = try rig.notes(each: 2, from: 0)
        try await rig.seed(early)
        try rig.startAgents(3)
        let ledger = try await rig.ledger()
        defer { Task { await ledger.close() } }
        #expect(try await rig.waitForAllHeld(ledger, agents: 3), "\(rig.logs())")

        // While the agents mirror what was there, the authors keep publishing: one note each.
        let late = try rig.notes(each: 1, from: 2)
        let publisher = Task { try await rig.seed(late) }
        // Killed once the mirror is under way: some deliveries recorded, not all.
        #expect(
            try await AgentFixture.waitFor(seconds: 20) {
                var delivered = 0
                for backup in rig.backups { delivered += try await ledger.deliveryStates(relay: backup.url)["delivered"] ?? 0 }
                return delivered > 0
            }, "\(rig.logs())")
        let victim = try await rig.busiestAgent(ledger)
        rig.agents[victim].signal(SIGKILL)
        let killedAt = ContinuousClock.now
        _ = await rig.agents[victim].waitForExit(timeout: .seconds(5))
        let victimID = rig.id(of: victim)

        // Its leases are taken by the survivors about one lease period later.
        let moved = try await AgentFixture.waitFor(seconds: 4 * Self.period) {
            let held = try await ledger.leases().filter { $0.holder != nil && $0.expiresIn > 0 }
            return held.count == ClusterRig.resources && !held.contains { $0.holder == victimID }
        }
        let movedAfter = ContinuousClock.now - killedAt
        let leasesAfterKill = try await ledger.leases()
        #expect(moved, "\(leasesAfterKill) \(rig.logs())")
        #expect(movedAfter < .seconds(2 * Self.period), "leases moved \(movedAfter) after the kill")
        try await publisher.value

        // Every backup ends exact; a delivery the dead agent had in flight may be sent again once.
        let all = early.merging(late) { $0 + $1 }.values.flatMap { $0 }
        let expected = Set(all.map(\.id))
        #expect(try await rig.primaryIDs() == expected)
        #expect(try await rig.waitUntilMirrored(ledger, events: expected.count), "\(rig.logs())")
        for backup in rig.backups {
            #expect(try await rig.ids(on: backup.url) == expected, "\(backup.url)")
            let states = try await ledger.deliveryStates(relay: backup.url)
            let duplicates = states["duplicate"] ?? 0
            #expect(duplicates <= DeliveryService.batchSize, "\(backup.url) re-sent \(duplicates)")
            #expect((states["delivered"] ?? 0) + duplicates + (states["present"] ?? 0) == expected.count, "\(states)")
        }
        #expect(try await ledger.fencedWriteCount() == 0)

        // The survivors give everything back on SIGTERM.
        try await rig.terminateAgents()
        #expect(try await ledger.leases().allSatisfy { $0.holder == nil })
    }

    @Test func anAgentPausedPastItsLeaseWritesNothingUnderItAndRejoins() async throws {
        let rig = try await ClusterRig.start(authors: 40)
        defer { rig.stop() }
        let first = try rig.notes(each: 2, from: 0)
        try await rig.seed(first)
        try rig.startAgents(2)
        let ledger = try await rig.ledger()
        defer { Task { await ledger.close() } }
        let paused = rig.id(of: 0), other = rig.id(of: 1)
        // Balanced: two leases each.
        let balanced = try await AgentFixture.waitFor(seconds: 8 * Self.period) {
            let held = try await ledger.leases().filter { $0.holder != nil && $0.expiresIn > 0 }
            return held.count == ClusterRig.resources && held.filter { $0.holder == paused }.count == 2
        }
        let leasesBalanced = try await ledger.leases()
        #expect(balanced, "\(leasesBalanced) \(rig.logs())")
        let before = Dictionary(uniqueKeysWithValues: try await ledger.leases().filter { $0.holder == paused }.map { ($0.resource, $0.generation) })

        rig.agents[0].signal(SIGSTOP)
        // The other takes the paused agent's leases (new generations) and mirrors on alone.
        let taken = try await AgentFixture.waitFor(seconds: 5 * Self.period) {
            let leases = try await ledger.leases()
            return before.allSatisfy { resource, generation in
                leases.contains { $0.resource == resource && $0.holder == other && $0.generation > generation && $0.expiresIn > 0 }
            }
        }
        let leasesTaken = try await ledger.leases()
        #expect(taken, "\(leasesTaken) \(rig.logs())")
        let during = try rig.notes(each: 1, from: 2)
        try await rig.seed(during)
        #expect(try await rig.waitUntilMirrored(ledger, events: 40 * 3), "\(rig.logs())")

        // Resumed: it notices its leases are gone before writing under them, then takes a share again.
        rig.agents[0].signal(SIGCONT)
        let noticed = try await AgentFixture.waitFor(seconds: 3 * Self.period) {
            let log = rig.log(of: 0)
            return log.contains("lease expired before renewal") || log.contains("lease renewal refused") || log.contains("lease lost")
        }
        #expect(noticed, "\(rig.log(of: 0))")
        let rejoined = try await AgentFixture.waitFor(seconds: 6 * Self.period) {
            let leases = try await ledger.leases().filter { $0.holder == paused && $0.expiresIn > 0 }
            return leases.count == 2 && leases.allSatisfy { $0.generation > (before[$0.resource] ?? 0) }
        }
        let leasesRejoined = try await ledger.leases()
        #expect(rejoined, "\(leasesRejoined) \(rig.logs())")
        let after = try rig.notes(each: 1, from: 3)
        try await rig.seed(after)

        // Nothing lost, nothing written under a lost lease: whatever the paused agent tried was
        // refused at its old generations, and no cursor was moved back.
        let expected = Set([first, during, after].flatMap { $0.values.flatMap { $0 } }.map(\.id))
        #expect(try await rig.waitUntilMirrored(ledger, events: expected.count), "\(rig.logs())")
        for backup in rig.backups { #expect(try await rig.ids(on: backup.url) == expected, "\(backup.url)") }
        for write in try await ledger.fencedWrites(holder: paused) {
            #expect(write.generation <= (before[write.resource] ?? 0), "\(write)")
        }
        #expect(try await ledger.fencedWriteCount(holder: other) == 0)
        for primary in rig.primaries {
            let cursors = try await ledger.cursors(relay: primary.url, pubkeys: rig.authors.map(\.publicKey))
            #expect(!cursors.isEmpty && cursors.values.allSatisfy(\.complete), "\(primary.url)")
        }
        try await rig.terminateAgents()
    }
}

/// PostgreSQL stopped under a running agent, in the middle of a live stream, and started again on
/// the same port (a server of the test's own, not the shared one).
@Suite(.enabled(if: PostgresServer.isAvailable && (try? PeerEnvironment.venv()) != nil, "needs postgresql-15 and the test-peer virtual environment"))
struct LedgerRestartTests {
    @Test func anAgentRidesOutADatabaseRestartAndLosesNothing() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let port = try FreePort.pick()
        let rig = try await ClusterRig.start(authors: 20, server: server, extra: [("metrics", .object([("listen", .string("127.0.0.1:\(port)"))]))])
        defer { rig.stop() }
        var expected = Set<String>()
        let first = try rig.notes(each: 1, from: 0)
        try await rig.seed(first)
        expected.formUnion(first.values.flatMap { $0 }.map(\.id))
        try rig.startAgents(1)
        let ledger = try await rig.ledger()
        #expect(try await rig.waitUntilMirrored(ledger, events: expected.count), "\(rig.logs())")
        await ledger.close()
        let healthy = { FreePort.httpGet(port: port, path: "/healthz")?.contains("\"status\" : \"ok\"") == true }
        #expect(try await Poll.until(timeout: .seconds(10)) { healthy() }, "\(String(describing: FreePort.httpGet(port: port, path: "/healthz")))")

        // The database goes away; the authors go on publishing, and /healthz says what is wrong.
        server.halt()
        let down = try rig.notes(each: 1, from: 1)
        try await rig.seed(down)
        expected.formUnion(down.values.flatMap { $0 }.map(\.id))
        let reported = try await Poll.until(timeout: .seconds(15)) {
            FreePort.httpGet(port: port, path: "/healthz")?.contains("ledger not writable") == true
        }
        #expect(reported, "\(String(describing: FreePort.httpGet(port: port, path: "/healthz")))")

        // Back on the same port: the agent reconnects, takes its leases again, and the backups end exact.
        try await server.restart()
        let after = try rig.notes(each: 1, from: 2)
        try await rig.seed(after)
        expected.formUnion(after.values.flatMap { $0 }.map(\.id))
        let reopened = try await rig.ledger()
        #expect(try await rig.waitUntilMirrored(reopened, events: expected.count), "\(rig.logs())")
        for backup in rig.backups { #expect(try await rig.ids(on: backup.url) == expected, "\(backup.url)") }
        #expect(try await Poll.until(timeout: .seconds(10)) { healthy() }, "\(String(describing: FreePort.httpGet(port: port, path: "/healthz")))")
        try await rig.terminateAgents()
        await reopened.close()
    }
}

/// Two primaries and two backups (nostr-relay and LocalRelay each), a PostgreSQL database, the
/// authors, and the agents started on them; `stop` ends every process by its PID.
final class ClusterRig: @unchecked Sendable {
    static let resources = 4
    let fixture: AgentFixture
    let url: String
    let primaries: [TestRelay]
    let backups: [TestRelay]
    let authors: [SecretKey]
    var agents: [AgentProcess] = []

    private init(fixture: AgentFixture, url: String, primaries: [TestRelay], backups: [TestRelay], authors: [SecretKey]) {
        self.fixture = fixture
        self.url = url
        self.primaries = primaries
        self.backups = backups
        self.authors = authors
    }

    static func start(authors count: Int, server own: PostgresServer? = nil, extra: [(String, JSONValue)] = []) async throws -> ClusterRig {
        let fixture = try AgentFixture()
        let server: PostgresServer
        if let own { server = own } else { server = try await PostgresServer.shared() }
        let url = server.url(database: try server.createDatabase())
        var relays: [TestRelay] = []
        do {
            for flavor in [TestRelay.Flavor.localRelay, .nostrRelay, .nostrRelay, .localRelay] { relays.append(try await TestRelay.start(flavor)) }
        } catch {
            for r in relays { r.stopNow() }
            fixture.cleanUp()
            throw error
        }
        let authors = (0..<count).map { _ in SecretKey.generate() }
        let rig = ClusterRig(fixture: fixture, url: url, primaries: Array(relays[0..<2]), backups: Array(relays[2..<4]), authors: authors)
        _ = try fixture.configuration(
            pubkeys: authors.map(\.publicKey),
            relays: rig.primaries.map { ($0.url, .primary) } + rig.backups.map { ($0.url, .backup) },
            extra: [("cluster", .object([("lease_period", .string("\(ClusterFailoverTests.period)s"))]))] + extra)
        return rig
    }

    /// `each` notes per author, numbered from `from`: even authors publish to the first primary,
    /// odd ones to the second, every tenth to both.
    func notes(each: Int, from: Int) throws -> [String: [Event]] {
        var out: [String: [Event]] = [primaries[0].url: [], primaries[1].url: []]
        for (i, key) in authors.enumerated() {
            let events = try (from..<from + each).map { n in
                try key.sign(kind: 1, content: "note \(n) of author \(i)", tags: [], createdAt: 1_700_000_000 + Int64(i * 10 + n))
            }
            out[primaries[i % 2].url]! += events
            if i % 10 == 0 { out[primaries[(i + 1) % 2].url]! += events }
        }
        return out
    }

    func seed(_ events: [String: [Event]]) async throws {
        for (relay, batch) in events { try await AgentFixture.seed(batch, into: relay) }
    }

    func startAgents(_ n: Int) throws {
        let config = fixture.directory.appendingPathComponent("sync.json").path
        for i in 0..<n {
            agents.append(try AgentProcess.start(["run", "--config", config, "--ledger", url], logTo: logFile(i)))
        }
    }

    func ledger() async throws -> PostgresLedger { try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: url)) }

    func id(of agent: Int) -> String { AgentIdentity(host: ProcessInfo.processInfo.hostName, pid: agents[agent].pid).id }

    /// Every resource held, unexpired, and only by these agents' processes.
    func waitForAllHeld(_ ledger: PostgresLedger, agents n: Int) async throws -> Bool {
        let ids = Set((0..<n).map(id(of:)))
        return try await AgentFixture.waitFor(seconds: 30) {
            let held = try await ledger.leases().filter { $0.holder != nil && $0.expiresIn > 0 }
            return held.count == Self.resources && held.allSatisfy { ids.contains($0.holder!) }
        }
    }

    /// The agent holding the most leases (a delivery lease breaking ties), so its death moves the most.
    func busiestAgent(_ ledger: PostgresLedger) async throws -> Int {
        let held = try await ledger.leases().filter { $0.holder != nil }
        let score = { (i: Int) in
            held.filter { $0.holder == self.id(of: i) }.map { $0.resource.hasPrefix("deliver:") ? 3 : 2 }.reduce(0, +)
        }
        return agents.indices.max { score($0) < score($1) }!
    }

    /// The ledger holds `events` events and owes no backup anything.
    func waitUntilMirrored(_ ledger: PostgresLedger, events: Int) async throws -> Bool {
        try await AgentFixture.waitFor(seconds: 30) {
            guard try await ledger.eventCount() == events else { return false }
            return try await ledger.pendingCount(relay: nil) == 0
        }
    }

    func ids(on relay: String) async throws -> Set<String> {
        try await AgentFixture.ids(on: relay, authors: authors.map(\.publicKey))
    }

    func primaryIDs() async throws -> Set<String> {
        try await ids(on: primaries[0].url).union(ids(on: primaries[1].url))
    }

    /// SIGTERM to every agent still running; each must exit cleanly.
    func terminateAgents() async throws {
        let running = agents.indices.filter { agents[$0].process.isRunning }
        for i in running { agents[i].signal(SIGTERM) }
        for i in running {
            #expect(await agents[i].waitForExit(timeout: .seconds(15)) == 0, "\(log(of: i).suffix(2_000))")
        }
    }

    func logFile(_ i: Int) -> URL { fixture.directory.appendingPathComponent("agent\(i).log") }
    func log(of i: Int) -> String { (try? String(contentsOf: logFile(i), encoding: .utf8)) ?? "" }
    func logs() -> String { agents.indices.map { "agent \($0):\n\(log(of: $0).suffix(1_500))" }.joined(separator: "\n") }

    func stop() {
        for agent in agents where agent.process.isRunning {
            agent.signal(SIGCONT)
            agent.signal(SIGKILL)
            agent.process.waitUntilExit()
        }
        for relay in primaries + backups { relay.stopNow() }
        if let keep = ProcessInfo.processInfo.environment["KEEP_CLUSTER_LOGS"] {
            for i in agents.indices { try? FileManager.default.copyItem(at: logFile(i), to: URL(fileURLWithPath: "\(keep)/agent\(i).log")) }
        }
        fixture.cleanUp()
    }
}
