import Foundation

/// A PostgreSQL 15 server (Debian's `postgresql-15`) for tests: `initdb` in a temporary folder,
/// as an unprivileged user when the tests run as root (initdb and postgres refuse root), listening
/// on 127.0.0.1 on a free port, stopped by its postmaster's PID. Starting one costs a second or
/// two, so a test process shares one (`shared()`) and each test takes a database of its own.
///
/// Roles: `relaysync`, the superuser, is trusted over TCP; any other role must give its password
/// (scram-sha-256), so the tests can see authentication fail.
public final class PostgresServer: @unchecked Sendable {
    /// The binaries: `RELAYSYNC_PG_BIN`, else Debian's folder for version 15.
    public static let binDirectory = URL(
        fileURLWithPath: ProcessInfo.processInfo.environment["RELAYSYNC_PG_BIN"] ?? "/usr/lib/postgresql/15/bin")

    /// Whether the tests that need PostgreSQL can run. scripts/test sets `RELAYSYNC_REQUIRE_POSTGRES`
    /// (bootstrap installs the server), so there a missing server fails those tests instead of
    /// skipping them.
    public static var isAvailable: Bool {
        if ProcessInfo.processInfo.environment["RELAYSYNC_REQUIRE_POSTGRES"] == "1" { return true }
        return ["initdb", "pg_ctl", "postgres"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: binDirectory.appendingPathComponent($0).path)
        }
    }

    public static let superuser = "relaysync"
    public let port: Int
    public let directory: URL
    public var dataDirectory: URL { directory.appendingPathComponent("data") }
    /// The postmaster's PID, 0 once stopped.
    public var pid: Int32 { lock.withLock { postmaster } }
    private let lock = NSLock()
    private var postmaster: Int32 = 0
    private var databases = 0
    /// The `-c` settings it was started with, for `restart`.
    private var launchSettings: [String] = []
    /// The user the server runs as when the tests run as root.
    private let runAs: String?

    private init(port: Int, directory: URL, runAs: String?) {
        self.port = port
        self.directory = directory
        self.runAs = runAs
    }

    /// A URL for `database` as `user` (the trusted superuser by default), no password in it.
    public func url(database: String, user: String = PostgresServer.superuser) -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database)"
    }

    // MARK: - One per test process

    private static let sharedState = SharedServer()

    /// The test process's server, started on first use and stopped by PID when the process exits.
    public static func shared() async throws -> PostgresServer {
        try await sharedState.server()
    }

    private actor SharedServer {
        /// One start for every test that asks meanwhile (the actor is re-entered while it awaits).
        private var starting: Task<PostgresServer, any Error>?
        func server() async throws -> PostgresServer {
            if let starting, let server = try? await starting.value, server.pid != 0 { return server }
            let task = Task {
                let server = try await PostgresServer.start()
                PostgresServer.stopAtExit(server)
                return server
            }
            starting = task
            return try await task.value
        }
    }

    private static let atExitServers = Mutexed<[PostgresServer]>([])
    private static func stopAtExit(_ server: PostgresServer) {
        let first = atExitServers.withLock { servers in
            servers.append(server)
            return servers.count == 1
        }
        if first {
            atexit {
                for server in PostgresServer.atExitServers.withLock({ $0 }) { server.stop() }
            }
        }
    }

    // MARK: - Start and stop

    /// initdb, start, wait until it accepts connections (bounded); throws with the server's log.
    /// `settings` (`name=value`) override the test defaults, for example `fsync=on` in a benchmark.
    public static func start(settings: [String] = []) async throws -> PostgresServer {
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        // As root the unprivileged user must reach the folder, so not under root's private TMPDIR.
        let base = runAs == nil ? FileManager.default.temporaryDirectory : URL(fileURLWithPath: "/tmp")
        reapAbandoned(in: base)
        let directory = base.appendingPathComponent("relaysync-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Who started it: a later start stops it if this process died without its exit handler
        // (SIGKILL, a CI timeout).
        try "\(getpid())\n".write(to: directory.appendingPathComponent("owner.pid"), atomically: true, encoding: .utf8)
        let server = PostgresServer(port: try FreePort.pick(), directory: directory, runAs: runAs)
        do {
            try server.initialize()
            try await server.launch(settings: settings)
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// Stops, by their postmasters' PIDs, servers whose test process is gone, and removes their folders.
    static func reapAbandoned(in base: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        for name in names where name.hasPrefix("relaysync-pg-") {
            let folder = base.appendingPathComponent(name)
            guard let text = try? String(contentsOf: folder.appendingPathComponent("owner.pid"), encoding: .utf8),
                let owner = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), owner > 0
            else { continue }
            // Alive (or not ours to signal): leave it.
            if kill(owner, 0) == 0 || errno == EPERM { continue }
            let abandoned = PostgresServer(port: 0, directory: folder, runAs: nil)
            if let pidText = try? String(contentsOf: abandoned.dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
                let first = pidText.split(separator: "\n").first, let pid = Int32(first),
                // The PID may have been reused since: only a postgres process is signalled.
                (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("postgres") == true
            {
                abandoned.lock.withLock { abandoned.postmaster = pid }
            }
            abandoned.stop()
        }
    }

    private func initialize() throws {
        if let runAs {
            guard let user = getpwnam(runAs) else {
                throw PeerError("running as root and there is no '\(runAs)' user to run PostgreSQL as (install postgresql-15)")
            }
            _ = chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        try run(
            "initdb",
            ["-D", dataDirectory.path, "-U", Self.superuser, "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"],
            log: "initdb.log")
        // The superuser over TCP without a password; every other role with one.
        let hba = """
            local all all trust
            host all \(Self.superuser) 127.0.0.1/32 trust
            host all all 127.0.0.1/32 scram-sha-256

            """
        try runAsServerUser { try hba.write(to: dataDirectory.appendingPathComponent("pg_hba.conf"), atomically: false, encoding: .utf8) }
    }

    private func launch(settings: [String]) async throws {
        lock.withLock { launchSettings = settings }
        // fsync off: a test server's data need not survive a power cut, and its disk is shared.
        // A later -c wins, so `settings` override these.
        let options =
            "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200"
            + settings.map { " -c \($0)" }.joined()
        try run(
            "pg_ctl", ["-D", dataDirectory.path, "-o", options, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "30", "start"],
            log: "pg_ctl.log")
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
            let first = text.split(separator: "\n").first, let pid = Int32(first)
        else { throw PeerError("PostgreSQL started without a postmaster.pid:\n\(log("server.log"))") }
        lock.withLock { postmaster = pid }
        let ready = try await Poll.until(timeout: .seconds(30)) { FreePort.isListening(port) }
        guard ready else { throw PeerError("PostgreSQL did not listen on port \(port):\n\(log("server.log"))") }
    }

    /// Creates a new, empty database and returns its name.
    public func createDatabase(prefix: String = "t") throws -> String {
        let name = lock.withLock { () -> String in
            databases += 1
            return "\(prefix)_\(databases)_\(UUID().uuidString.prefix(6).lowercased())"
        }
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL as the superuser through `psql` (in the `postgres` database unless told).
    public func psql(_ sql: String, database: String = "postgres") throws {
        try run(
            "psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", Self.superuser, "-d", database, "-c", sql],
            log: "psql.log", asServerUser: false)
    }

    /// Fast shutdown by the postmaster's PID (SIGINT), immediate (SIGQUIT) after 5 s, SIGKILL after
    /// 5 more; then the folder goes. Idempotent.
    public func stop() {
        halt()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the server as `stop` does but keeps its data, for `restart` (a database that goes
    /// away under its clients and comes back on the same port).
    public func halt() {
        let pid = lock.withLock { () -> Int32 in
            defer { postmaster = 0 }
            return postmaster
        }
        if pid > 0 {
            for (signal, waits) in [(SIGINT, 100), (SIGQUIT, 100), (SIGKILL, 100)] {
                guard kill(pid, 0) == 0 else { break }
                kill(pid, signal)
                var polls = 0
                while kill(pid, 0) == 0 && polls < waits {
                    usleep(50_000)
                    polls += 1
                }
            }
        }
    }

    /// Starts a halted server again on its port, with its data.
    public func restart() async throws {
        guard pid == 0 else { return }
        try await launch(settings: lock.withLock { launchSettings })
    }

    deinit { stop() }

    // MARK: - Helpers

    private func log(_ name: String) -> String {
        String(((try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? "").suffix(1500))
    }

    /// Runs one of the server's binaries to its end (as the server's user when root), bounded by
    /// 60 s. Spawned and reaped here (posix_spawn, waitpid), not through Foundation's Process,
    /// which on Linux was seen leaving `runuser` unreaped once pg_ctl's daemon had forked.
    private func run(_ tool: String, _ arguments: [String], log name: String, asServerUser: Bool = true) throws {
        let binary = Self.binDirectory.appendingPathComponent(tool).path
        let argv = (runAs != nil && asServerUser) ? ["/usr/sbin/runuser", "-u", runAs!, "--", binary] + arguments : [binary] + arguments
        let child = try ChildProcess.spawn(argv, output: directory.appendingPathComponent(name).path)
        var status: Int32 = 0
        var polls = 0
        while waitpid(child.pid, &status, WNOHANG) == 0 {
            guard polls < 6000 else {
                kill(child.pid, SIGKILL)
                _ = waitpid(child.pid, &status, 0)
                throw PeerError("\(tool) did not finish in 60 s:\n\(log(name))")
            }
            usleep(10_000)
            polls += 1
        }
        // Exited normally with status 0 (WIFEXITED, WEXITSTATUS).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw PeerError("\(tool) failed:\n\(log(name))")
        }
    }

    /// Writes as root, then gives the file to the server's user.
    private func runAsServerUser(_ body: () throws -> Void) throws {
        try body()
        if let runAs, let user = getpwnam(runAs) {
            _ = chown(dataDirectory.appendingPathComponent("pg_hba.conf").path, user.pointee.pw_uid, user.pointee.pw_gid)
        }
    }
}

/// A value behind a lock, for the static state above (the harness avoids `Synchronization` so it
/// builds on the same platforms as the relays' harness).
final class Mutexed<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
