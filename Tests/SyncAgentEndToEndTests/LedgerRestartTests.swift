import Foundation
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

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
        // `status` says what happened while the database was away: the agent wrote it down once back.
        let config = try SyncConfiguration.load(path: rig.fixture.directory.appendingPathComponent("sync.json").path)
        let settings = try PostgresLedgerSettings.parse(url: rig.url)
        let outages = try await Poll.until(timeout: .seconds(15)) {
            try await !PostgresStatusReport.make(configuration: config, settings: settings).outages.isEmpty
        }
        #expect(outages, "\(rig.logs())")
        let status = try await PostgresStatusReport.make(configuration: config, settings: settings)
        #expect(status.text.contains("ledger unreachable:") && status.outages.allSatisfy { $0.endedAt >= $0.startedAt }, "\(status.text)")
        #expect(status.json.contains("\"lease_period_seconds\"") && status.json.contains("\"started_at\""), "\(status.json)")
        try await rig.terminateAgents()
        await reopened.close()
    }
}
