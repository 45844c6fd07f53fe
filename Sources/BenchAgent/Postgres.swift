import Foundation
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-postgres: one agent's `relaysync run --once` mirror (LocalRelay -> LocalRelay) with
// the SQLite ledger and with the PostgreSQL ledger, in one run, from the same seeded primary into a
// fresh backup each time, the order alternating between rounds. PostgreSQL 15 is started here
// (initdb in a temporary folder, 127.0.0.1, a free port) and stopped by its postmaster's PID. Its
// durability is set to match the SQLite ledger's WAL with synchronous=NORMAL: fsync on, commits not
// waiting for the WAL flush (synchronous_commit=off); BENCH_PG_SETTINGS (comma-separated
// name=value) replaces that.

struct StoreRun {
    var store: String
    var seconds: Double
    /// The agent's own CPU (user + system).
    var cpu: Double
    /// PostgreSQL's CPU over the run (0 on SQLite).
    var databaseCPU: Double
    var peakRSS: Int
}

func postgresMain(sizes requested: [Int], binary: String) async throws {
    let env = ProcessInfo.processInfo.environment
    let sizes = requested.isEmpty ? [20_000, 100_000] : requested
    let repeats = max(1, Int(env["BENCH_REPEAT"] ?? "") ?? 1)
    let settings =
        env["BENCH_PG_SETTINGS"].map { $0.split(separator: ",").map(String.init) } ?? ["fsync=on", "full_page_writes=on", "synchronous_commit=off"]
    let server = try await PostgresServer.start(settings: settings)
    defer { server.stop() }
    print("bench-agent --postgres: relaysync run --once, LocalRelay -> LocalRelay on 127.0.0.1 (release build)")
    print("  PostgreSQL 15 pid \(server.pid) on 127.0.0.1:\(server.port), settings: \(settings.joined(separator: " "))")
    var rows: [(n: Int, handled: Int, sqlite: StoreRun, postgres: StoreRun)] = []
    for n in sizes {
        for round in 0..<repeats {
            let (primary, options, _, events) = try await seededPrimary(n)
            defer { primary.stopNow() }
            let authors = Array(Set(events.map(\.pubkey)))
            let expected = try await withRelay(primary.url) { relay in
                let ids = IDSet()
                _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in ids.add(page.map(\.id)) }
                return ids.value
            }
            var sqlite: StoreRun?
            var postgres: StoreRun?
            for store in round % 2 == 0 ? ["sqlite", "postgres"] : ["postgres", "sqlite"] {
                let backup = try await TestRelay.start(.localRelay, options: options)
                defer { backup.stopNow() }
                let dir = work.appendingPathComponent("pg-\(n)-\(round)-\(store)")
                let ledger = store == "sqlite" ? "ledger.sqlite" : server.url(database: try server.createDatabase(prefix: "bench"))
                let config = try writeConfig(dir, authors: authors, primary: primary.url, backup: backup.url, ledger: ledger)
                let before = ProcessCPU.postgresSeconds(postmaster: server.pid)
                // BENCH_WRAP_POSTGRES (for example "/usr/bin/perf record -g -o /tmp/pg-agent.data --") prefixes the PostgreSQL run.
                let wrap = store == "postgres" ? (env["BENCH_WRAP_POSTGRES"].map { $0.split(separator: " ").map(String.init) } ?? []) : []
                let m = try await measuredRun(wrap + [binary, "run", "--once", "--config", config], log: dir.appendingPathComponent("once.log").path)
                let database = ProcessCPU.postgresSeconds(postmaster: server.pid) - before
                let held = try await withRelay(backup.url) { relay in
                    let ids = IDSet()
                    _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in ids.add(page.map(\.id)) }
                    return ids.value
                }
                guard held == expected else {
                    throw PeerError(
                        "\(store): the backup holds \(held.count) events, the primary \(expected.count); \(expected.subtracting(held).count) missing")
                }
                await backup.stop()
                let run = StoreRun(store: store, seconds: m.seconds, cpu: m.cpu, databaseCPU: store == "sqlite" ? 0 : database, peakRSS: m.peakRSS)
                if store == "sqlite" { sqlite = run } else { postgres = run }
                print(
                    "  \(n) events, round \(round + 1), \(store): \(f(m.seconds, 2)) s wall, agent CPU \(f(m.cpu, 2)) s"
                        + (store == "sqlite" ? "" : ", PostgreSQL CPU \(f(database, 2)) s") + ", peak RSS \(f(Double(m.peakRSS) / 1_048_576, 1)) MiB")
            }
            await primary.stop()
            rows.append((n, expected.count, sqlite!, postgres!))
        }
    }
    print(
        "  | events published | mirrored | SQLite wall | PostgreSQL wall | ratio | SQLite agent CPU | PostgreSQL agent CPU | PostgreSQL server CPU | ratio agent CPU |"
    )
    print("  |---|---|---|---|---|---|---|---|---|")
    for r in rows {
        print(
            "  | \(r.n) | \(r.handled) | \(f(r.sqlite.seconds, 2)) s | \(f(r.postgres.seconds, 2)) s | \(f(r.postgres.seconds / r.sqlite.seconds, 2))x | \(f(r.sqlite.cpu, 2)) s | \(f(r.postgres.cpu, 2)) s | \(f(r.postgres.databaseCPU, 2)) s | \(f(r.postgres.cpu / r.sqlite.cpu, 2))x |"
        )
    }
    for n in sizes {
        let ratios = rows.filter { $0.n == n }.map { $0.postgres.seconds / $0.sqlite.seconds }.sorted()
        print("  \(n) events: PostgreSQL / SQLite wall time, median of \(ratios.count): \(f(ratios[ratios.count / 2], 2))x (goal <= 1.5x)")
    }
    var load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
    load = load.split(separator: " ").prefix(3).joined(separator: " ")
    print("  load average at the end: \(load)")
}
