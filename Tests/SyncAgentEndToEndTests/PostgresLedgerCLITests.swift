import Foundation
import LedgerPostgres
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `"ledger": "postgres://…"` in sync.json and `run --check` against a real PostgreSQL 15 on
/// 127.0.0.1 (the test process's shared server): every way of failing to connect is one line.
@Suite(.enabled(if: PostgresServer.isAvailable, "needs Debian's postgresql-15 (scripts/bootstrap installs it)"))
final class PostgresLedgerCLITests: Sendable {
    let directory: URL
    let key = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-pgcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func config(ledger: String) throws {
        let text = #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":\#(ledger)}"#
        try text.write(to: directory.appendingPathComponent("sync.json"), atomically: true, encoding: .utf8)
    }

    func check() async throws -> CLIRun.Result {
        try await CLIRun.run(try AgentProcess.executable().path, ["run", "--check", "--config", "sync.json"], in: directory)
    }

    func expectOneLine(_ r: CLIRun.Result, status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr == "Error: \(message)\n", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    /// A role that must give its password; its name is unique to the test.
    func role(password: String) async throws -> String {
        let server = try await PostgresServer.shared()
        let name = "r_\(UUID().uuidString.prefix(8).lowercased())"
        try server.psql("CREATE ROLE \(name) LOGIN PASSWORD '\(password)'")
        return name
    }

    @Test func checkConnectsToTheLedgerAndSaysSo() async throws {
        let server = try await PostgresServer.shared()
        try config(ledger: #""\#(server.url(database: try server.createDatabase()))""#)
        let r = try await check()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("sync.json: OK"))
    }

    @Test func aPasswordFileIsUsedAndAWrongOneIsAnAuthenticationFailure() async throws {
        let server = try await PostgresServer.shared()
        let database = try server.createDatabase()
        let name = try await role(password: "right horse")
        try server.psql("GRANT CONNECT ON DATABASE \(database) TO \(name)")
        try "right horse\n".write(to: directory.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
        try config(ledger: #"{"url":"\#(server.url(database: database, user: name))","password_file":"pw"}"#)
        #expect(try await check().status == 0)

        try "wrong horse\n".write(to: directory.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
        expectOneLine(
            try await check(), status: 1,
            "ledger \(server.url(database: database, user: name)): authentication failed for role \"\(name)\" (check ledger.password_file and the server's pg_hba.conf)"
        )

        try config(ledger: #""\#(server.url(database: database, user: name))""#)
        expectOneLine(
            try await check(), status: 1,
            "ledger \(server.url(database: database, user: name)): the server asks a password for role \"\(name)\": name a file holding it in ledger.password_file"
        )
    }

    @Test func aMissingDatabaseIsNamed() async throws {
        let server = try await PostgresServer.shared()
        try config(ledger: #""\#(server.url(database: "no_such_db"))""#)
        expectOneLine(
            try await check(), status: 1,
            "ledger \(server.url(database: "no_such_db")): database \"no_such_db\" does not exist (create it: createdb -O relaysync no_such_db)")
    }

    @Test func nothingListeningIsConnectionRefused() async throws {
        let port = try FreePort.pick()
        try config(ledger: #""postgres://relaysync@127.0.0.1:\#(port)/relaysync""#)
        expectOneLine(
            try await check(), status: 1,
            "ledger postgres://relaysync@127.0.0.1:\(port)/relaysync: connection refused: is PostgreSQL running and listening on 127.0.0.1:\(port)?")
    }

    /// With `tls_ca_file` TLS is required: a server without TLS is refused, not used in the clear.
    @Test func aServerWithoutTLSIsRefusedWhenTheConfigAsksForIt() async throws {
        let server = try await PostgresServer.shared()
        try PrivateCAFixture.caPEM.write(to: directory.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        let url = server.url(database: try server.createDatabase())
        try config(ledger: #"{"url":"\#(url)","tls_ca_file":"ca.pem"}"#)
        expectOneLine(try await check(), status: 1, "ledger \(url): TLS: the server does not offer TLS, and ledger.tls_ca_file asks for it")
    }

    @Test func aPasswordIsNeverTakenFromSyncJSON() async throws {
        try config(ledger: #""postgres://relaysync:hunter2@127.0.0.1:5432/relaysync""#)
        expectOneLine(
            try await check(), status: 78,
            "sync.json: ledger: a password in the URL is refused: put it in a file named by \"password_file\" (ledger as an object)")
        try config(ledger: #"{"url":"postgres://relaysync@127.0.0.1/relaysync","password":"hunter2"}"#)
        expectOneLine(try await check(), status: 78, "sync.json: ledger.password: unknown key (expected url, password_file, tls_ca_file)")
        try config(ledger: #"{"url":"postgres://relaysync@127.0.0.1/relaysync","password_file":"missing"}"#)
        expectOneLine(
            try await check(), status: 78,
            "sync.json: ledger.password_file: cannot read password_file \(directory.appendingPathComponent("missing").standardizedFileURL.path)")
    }

    /// `status` on a PostgreSQL ledger shows the agents' heartbeats and who holds which lease.
    @Test func statusShowsTheAgentsAndTheirLeases() async throws {
        let server = try await PostgresServer.shared()
        let url = server.url(database: try server.createDatabase())
        let ledger = try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: url))
        try await ledger.heartbeat(agent: "host-1:42", host: "host-1", pid: 42)
        _ = try await ledger.acquire("read:ws://127.0.0.1:1", holder: "host-1:42", period: .seconds(60))
        await ledger.close()
        try config(ledger: #""\#(url)""#)
        let r = try await CLIRun.run(try AgentProcess.executable().path, ["status", "--config", "sync.json"], in: directory)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ledger \(url): 0 events\n"))
        #expect(r.stdout.contains("  host-1:42 (host host-1, PID 42): last heartbeat "))
        #expect(r.stdout.contains("  read:ws://127.0.0.1:1: host-1:42, generation 1, expires in "))
    }
}
