import Foundation
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Two primaries and two backups (nostr-relay and LocalRelay each), a PostgreSQL database, the
/// authors, and the agents started on them; `stop` ends every process by its PID.
final class ClusterRig: @unchecked Sendable {
    /// Two read leases, two deliver leases, and the archive's when it is configured.
    let resources: Int
    let fixture: AgentFixture
    let url: String
    let primaries: [TestRelay]
    let backups: [TestRelay]
    let authors: [SecretKey]
    var agents: [AgentProcess] = []

    private init(fixture: AgentFixture, url: String, primaries: [TestRelay], backups: [TestRelay], authors: [SecretKey], archive: Bool) {
        self.resources = archive ? 5 : 4
        self.fixture = fixture
        self.url = url
        self.primaries = primaries
        self.backups = backups
        self.authors = authors
    }

    static func start(authors count: Int, server own: PostgresServer? = nil, archive: Bool = false, extra: [(String, JSONValue)] = []) async throws
        -> ClusterRig
    {
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
        let rig = ClusterRig(
            fixture: fixture, url: url, primaries: Array(relays[0..<2]), backups: Array(relays[2..<4]), authors: authors, archive: archive)
        _ = try fixture.configuration(
            pubkeys: authors.map(\.publicKey),
            relays: rig.primaries.map { ($0.url, .primary) } + rig.backups.map { ($0.url, .backup) }, archive: archive,
            extra: [("cluster", .object([("lease_period", .string("\(ClusterFailoverTests.period)s"))]))] + extra)
        return rig
    }

    /// `each` notes per author, numbered from `from`: even authors publish to the first primary,
    /// odd ones to the second, every tenth to both.
    func notes(each: Int, from: Int) throws -> [RelayURL: [Event]] {
        var out: [RelayURL: [Event]] = [primaries[0].url: [], primaries[1].url: []]
        for (i, key) in authors.enumerated() {
            let events = try (from..<from + each).map { n in
                try key.sign(kind: 1, content: "note \(n) of author \(i)", tags: [], createdAt: 1_700_000_000 + Int64(i * 10 + n))
            }
            out[primaries[i % 2].url]! += events
            if i % 10 == 0 { out[primaries[(i + 1) % 2].url]! += events }
        }
        return out
    }

    func seed(_ events: [RelayURL: [Event]]) async throws {
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
            return held.count == resources && held.allSatisfy { ids.contains($0.holder!) }
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

    func ids(on relay: RelayURL) async throws -> Set<String> {
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
