import Foundation
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-agent --steady [SECONDS] [RATE] [ROUNDS]: the live path. The daemon (`relaysync run`,
// a child process) reads two LocalRelay primaries and writes two LocalRelay backups; this process
// publishes RATE notes/s in all (default 40), split evenly between the primaries on one connection
// each, for SECONDS (default 60), and waits until both backups hold every note. The daemon's CPU
// (utime + stime of /proc/PID/stat) from the first publish to the last note on both backups, per
// note. Then, unless BENCH_STRACE_SECONDS=0, a second window of that many seconds (default 20) at
// the same rate under `strace -f -c -p PID` for system calls per note by call (a separate window:
// strace slows the process it traces, so its CPU is not the one reported above).
//
// BENCH_COMPARE="before=/path/to/relaysync,after=/path/to/relaysync" runs each binary in turn in
// every round (default: the relaysync beside BenchAgent, labelled HEAD). BENCH_METRICS=on, or
// off,on to alternate, adds "metrics": {"listen": "127.0.0.1:PORT"} and scrapes /metrics once a
// second during both windows. Every round runs every variant in that order, so variants alternate.
// BENCH_STEADY_COPIES=1 publishes every note to both primaries at once (RATE notes/s, each received
// twice by the daemon), as a client that writes to all its relays does.
//
// A variant whose path is `nostr-sdk` (BENCH_COMPARE="relaysync=…,nostr-sdk=nostr-sdk") runs the
// reference client instead of a daemon: scripts/peers/reference_forward.py, which forwards each new
// note from the primaries to the backups with nostr-sdk (rust-nostr) and keeps nothing. Every row
// also gives the relays' own CPU per note (LocalRelay, rust-nostr: the primaries take each note and
// send it on to the subscriber; the backups take it, answer OK and send it on to the bench's
// watcher): a yardstick for what such messages cost on this machine.

struct SteadyVariant: Sendable {
    var label: String
    var binary: String
    var metrics: Bool
    var name: String { label + (metrics ? " metrics on" : "") }

    /// The command that takes `run --config PATH`: the binary, or the reference client's script.
    func command() throws -> [String] {
        guard binary == "nostr-sdk" else { return [binary] }
        return [try PeerEnvironment.venv().appendingPathComponent("bin/python").path, PeerEnvironment.script("reference_forward.py").path]
    }
}

struct SyscallRow: Sendable {
    var name: String
    var calls: Int
    var errors: Int
}

struct SyscallWindow: Sendable {
    var notes: Int
    var rows: [SyscallRow]
    var threadsAttached: Int
    var total: Int { rows.reduce(0) { $0 + $1.calls } }
    func perNote(_ name: String) -> Double { Double(rows.first { $0.name == name }?.calls ?? 0) / Double(max(1, notes)) }
}

struct SteadyResult: Sendable {
    var variant: SteadyVariant
    var round: Int
    var notes: Int
    var publishSeconds: Double
    var windowSeconds: Double
    var cpu: Double
    var idleCPUPerSecond: Double
    var threads: Int
    /// The relays' CPU in the same window (seconds): both primaries, both backups.
    var primariesCPU: Double, backupsCPU: Double
    var p50: Double, p99: Double, max: Double
    var scrapes: Int, scrapeFailures: Int, scrapeBytes: Int
    var syscalls: SyscallWindow?
    var notesPerSecond: Double { Double(notes) / publishSeconds }
    var cpuPerNote: Double { cpu / Double(notes) * 1e3 }  // ms
    var cpuPerNoteNetOfIdle: Double { (cpu - idleCPUPerSecond * windowSeconds) / Double(notes) * 1e3 }
    var primariesPerNote: Double { primariesCPU / Double(notes) * 1e3 }  // ms
    var backupsPerNote: Double { backupsCPU / Double(notes) * 1e3 }  // ms
}

func progress(_ s: String) { FileHandle.standardError.write(Data("  [steady] \(s)\n".utf8)) }

/// utime + stime of every thread of `pid`, in seconds.
func procCPU(_ pid: pid_t) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func threadCount(_ pid: pid_t) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0 }

/// One HTTP/1.0 GET on loopback (2 s timeout): (status line, response bytes, text), nil when nothing answered.
func scrape(port: Int, path: String) -> (status: String, bytes: Int, body: String)? {
    guard let text = FreePort.httpGet(port: port, path: path) else { return nil }
    return (String(text.prefix { $0 != "\r" && $0 != "\n" }), text.utf8.count, text)
}

final class ScrapeCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var ok = 0, failed = 0, bytes = 0
    func note(_ r: (status: String, bytes: Int, body: String)?) {
        lock.withLock {
            if let r, r.status.contains(" 200"), r.body.contains("relaysync_") { ok += 1; bytes += r.bytes } else { failed += 1 }
        }
    }
    var value: (ok: Int, failed: Int, bytes: Int) { lock.withLock { (ok, failed, bytes) } }
}

/// Publishes `rate` notes/s in all for `seconds`, note i on primary i % 2 (each primary its own
/// author and connection, its notes evenly spaced and offset by half a step from the other's).
/// With `copies`, every note goes to every primary at once instead, as a client publishing to
/// all its relays does, and the daemon receives each note once from each primary.
/// Returns the ids and the seconds from the first publish to the last OK.
func publishSteady(
    _ publishers: [Relay], keys: [SecretKey], rate: Double, seconds: Double, tag: String, sent: Arrivals, copies: Bool = steadyCopies
) async throws -> ([String], Double) {
    if copies { return try await publishCopies(publishers, keys: keys, rate: rate, seconds: seconds, tag: tag, sent: sent) }
    let perPrimary = max(1, Int((seconds * rate / Double(publishers.count)).rounded()))
    let step = Duration.seconds(Double(publishers.count) / rate)
    let start = ContinuousClock.now + .milliseconds(20)
    let ids = try await withThrowingTaskGroup(of: [String].self) { group in
        for (i, relay) in publishers.enumerated() {
            let key = keys[i]
            let offset = step / publishers.count * i
            group.addTask {
                var ids: [String] = []
                for j in 0..<perPrimary {
                    try await Task.sleep(until: start + offset + step * j, clock: .continuous)
                    let e = try key.sign(kind: 1, content: "\(tag) steady \(i)-\(j)", createdAt: Int64(Date().timeIntervalSince1970))
                    sent.note(e.id)
                    guard await relay.publish(e).isDelivered else { throw PeerError("primary \(i) refused note \(j)") }
                    ids.append(e.id)
                }
                return ids
            }
        }
        var all: [String] = []
        for try await part in group { all += part }
        return all
    }
    return (ids, (ContinuousClock.now - start) / .seconds(1))
}

/// BENCH_STEADY_COPIES=1: every note on every primary (`publishSteady`'s `copies`).
let steadyCopies = ["1", "on", "yes"].contains(ProcessInfo.processInfo.environment["BENCH_STEADY_COPIES"] ?? "")

private func publishCopies(_ publishers: [Relay], keys: [SecretKey], rate: Double, seconds: Double, tag: String, sent: Arrivals) async throws -> (
    [String], Double
) {
    let count = max(1, Int((seconds * rate).rounded()))
    let step = Duration.seconds(1 / rate)
    let start = ContinuousClock.now + .milliseconds(20)
    var ids: [String] = []
    for j in 0..<count {
        try await Task.sleep(until: start + step * j, clock: .continuous)
        let e = try keys[j % keys.count].sign(kind: 1, content: "\(tag) steady copies \(j)", createdAt: Int64(Date().timeIntervalSince1970))
        sent.note(e.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, relay) in publishers.enumerated() {
                group.addTask { guard await relay.publish(e).isDelivered else { throw PeerError("primary \(i) refused note \(j)") } }
            }
            try await group.waitForAll()
        }
        ids.append(e.id)
    }
    return (ids, (ContinuousClock.now - start) / .seconds(1))
}

/// Waits (at most `limit`) until every id has arrived on every backup; the instant it happened.
func waitDelivered(_ ids: [String], on arrivals: [Arrivals], limit: Duration) async throws -> ContinuousClock.Instant {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if arrivals.allSatisfy({ a in ids.allSatisfy { a.time($0) != nil } }) { return .now }
        try await Task.sleep(for: .milliseconds(5))
    }
    let missing = arrivals.map { a in ids.filter { a.time($0) == nil }.count }
    throw PeerError("steady: notes missing on the backups after \(limit): \(missing)")
}

/// Parses `strace -c` output: one row per system call (calls, errors), without the total row.
func parseStraceSummary(_ text: String) -> [SyscallRow] {
    var rows: [SyscallRow] = []
    for line in text.split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        guard f.count >= 5, Double(f[0]) != nil, let name = f.last, name != "total" else { continue }
        let calls = Int(f[3]) ?? 0
        let errors = f.count >= 6 ? Int(f[4]) ?? 0 : 0
        rows.append(SyscallRow(name: String(name), calls: calls, errors: errors))
    }
    return rows.sorted { $0.calls > $1.calls }
}

func steadyRun(_ v: SteadyVariant, round: Int, seconds: Double, rate: Double, straceSeconds: Double, work: URL) async throws -> SteadyResult {
    // One after another: Foundation's Process is not started concurrently here.
    var relays: [TestRelay] = []
    defer { relays.forEach { $0.stopNow() } }
    for _ in 0..<4 { relays.append(try await TestRelay.start(.localRelay)) }
    progress("\(v.name), round \(round): relays up")
    let primaries = Array(relays[0..<2]), backups = Array(relays[2..<4])
    let keys = [SecretKey.generate(), SecretKey.generate()]
    let dir = work.appendingPathComponent("steady-\(round)-\(v.label)-\(v.metrics ? "m" : "n")-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let port = v.metrics ? try FreePort.pick() : 0
    let relayList =
        primaries.map { #"{"url": "\#($0.url)", "role": "primary"}"# } + backups.map { #"{"url": "\#($0.url)", "role": "backup"}"# }
    let config = """
        {"pubkeys": [\(keys.map { "\"\($0.publicKey)\"" }.joined(separator: ","))],
         "relays": [\(relayList.joined(separator: ", "))],
         "ledger": "ledger.sqlite", "archive": {"directory": "archive"}, "log_level": "error"\(v.metrics ? #", "metrics": {"listen": "127.0.0.1:\#(port)"}"# : "")}
        """
    let configPath = dir.appendingPathComponent("sync.json").path
    try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    let daemon = try ChildProcess.spawn(v.command() + ["run", "--config", configPath], output: dir.appendingPathComponent("daemon.log").path)
    defer { kill(daemon.pid, SIGTERM); _ = daemon.wait() }
    progress("daemon \(daemon.pid) started")
    try await Task.sleep(for: .seconds(3))
    let arrivals = [Arrivals(), Arrivals()]
    let sent = Arrivals()
    let since = Int64(Date().timeIntervalSince1970) - 5
    var watchers: [Relay] = []
    var tasks: [Task<Void, Never>] = []
    var subs: [RelaySubscription] = []
    var services: [Task<Void, any Error>] = []
    func open(_ url: RelayURL) async throws -> Relay {
        let relay = Relay(configuration: RelayConfiguration(url: url), logger: logger)
        services.append(Task { try await relay.run() })
        guard await relay.waitUntilConnected(timeout: .seconds(10)) else { throw PeerError("cannot connect to \(url)") }
        return relay
    }
    defer {
        tasks.forEach { $0.cancel() }
        subs.forEach { $0.cancel() }
        watchers.forEach { $0.stop() }
        services.forEach { $0.cancel() }
    }
    for (i, b) in backups.enumerated() {
        let w = try await open(b.url)
        watchers.append(w)
        let sub = w.subscribe([Filter(authors: keys.map(\.publicKey), since: since)], live: true)
        subs.append(sub)
        let a = arrivals[i]
        tasks.append(Task { for await item in sub { if case let .event(e) = item { a.note(e.id) } } })
    }
    let publishers = [try await open(primaries[0].url), try await open(primaries[1].url)]
    watchers += publishers
    try await Task.sleep(for: .milliseconds(500))
    // Warm-up: one note per primary through to both backups, so every subscription is live.
    let (warm, _) = try await publishSteady(publishers, keys: keys, rate: 20, seconds: 0.1, tag: "warm-up", sent: sent)
    _ = try await waitDelivered(warm, on: arrivals, limit: .seconds(30))
    progress("warm-up notes on both backups")
    try await Task.sleep(for: .seconds(1))
    let idle0 = procCPU(daemon.pid), idleStart = ContinuousClock.now
    try await Task.sleep(for: .seconds(3))
    let idleCPUPerSecond = (procCPU(daemon.pid) - idle0) / ((ContinuousClock.now - idleStart) / .seconds(1))

    let counts = ScrapeCounts()
    if v.metrics {
        // Bounded: one scrape a second until cancelled after the windows, and at most 1,000.
        tasks.append(
            Task.detached {
                for _ in 0..<1_000 {
                    if Task.isCancelled { break }
                    counts.note(scrape(port: port, path: "/metrics"))
                    try? await Task.sleep(for: .seconds(1))
                }
            })
    }
    // The measured window: first publish to every note on both backups.
    let cpu0 = procCPU(daemon.pid)
    func relaysCPU(_ relays: [TestRelay]) -> Double { relays.reduce(0) { $0 + procCPU($1.pid) } }
    let primaries0 = relaysCPU(primaries), backups0 = relaysCPU(backups)
    let t0 = ContinuousClock.now
    let (ids, publishSeconds) = try await publishSteady(publishers, keys: keys, rate: rate, seconds: seconds, tag: "r\(round)", sent: sent)
    let done = try await waitDelivered(ids, on: arrivals, limit: .seconds(60))
    let cpu = procCPU(daemon.pid) - cpu0
    let primariesCPU = relaysCPU(primaries) - primaries0, backupsCPU = relaysCPU(backups) - backups0
    let windowSeconds = (done - t0) / .seconds(1)
    let threads = threadCount(daemon.pid)
    var latencies: [Double] = ids.compactMap { id in
        guard let s = sent.time(id) else { return nil }
        let arrived = arrivals.compactMap { $0.time(id) }.max()
        return arrived.map { ($0 - s) / .milliseconds(1) }
    }
    latencies.sort()
    func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] }

    progress("window done: \(ids.count) notes in \(f(windowSeconds, 1)) s")
    var syscalls: SyscallWindow?
    if straceSeconds > 0 {
        let out = dir.appendingPathComponent("strace.txt").path
        let tracer = try ChildProcess.spawn(
            ["/usr/bin/strace", "-f", "-c", "-o", out, "-p", "\(daemon.pid)"], output: dir.appendingPathComponent("strace.log").path, cleanSignals: true)
        try await Task.sleep(for: .seconds(1))
        let (tids, _) = try await publishSteady(publishers, keys: keys, rate: rate, seconds: straceSeconds, tag: "r\(round)-strace", sent: sent)
        _ = try await waitDelivered(tids, on: arrivals, limit: .seconds(120))
        kill(tracer.pid, SIGINT)
        _ = tracer.wait()
        // "Process PID attached with N threads"
        let attached = ((try? String(contentsOfFile: dir.appendingPathComponent("strace.log").path, encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { line -> Int? in
                guard line.contains("attached") else { return nil }
                return line.contains(" with ") ? Int(line.split(separator: " ").dropLast().last ?? "") ?? 1 : 1
            }.reduce(0, +)
        syscalls = SyscallWindow(
            notes: tids.count, rows: parseStraceSummary((try? String(contentsOfFile: out, encoding: .utf8)) ?? ""), threadsAttached: attached)
    }
    let scraped = counts.value
    if v.metrics && scraped.ok == 0 { throw PeerError("metrics on, but no scrape of 127.0.0.1:\(port)/metrics succeeded") }
    return SteadyResult(
        variant: v, round: round, notes: ids.count, publishSeconds: publishSeconds, windowSeconds: windowSeconds, cpu: cpu,
        idleCPUPerSecond: idleCPUPerSecond, threads: threads, primariesCPU: primariesCPU, backupsCPU: backupsCPU, p50: pct(0.5), p99: pct(0.99),
        max: latencies.last ?? 0,
        scrapes: scraped.ok, scrapeFailures: scraped.failed, scrapeBytes: scraped.bytes, syscalls: syscalls)
}

func steadyMain(arguments: [String], defaultBinary: String, work: URL) async throws {
    let numbers = arguments.compactMap(Double.init)
    let seconds = numbers.count > 0 ? numbers[0] : 60
    let rate = numbers.count > 1 ? numbers[1] : 40
    let rounds = numbers.count > 2 ? max(1, Int(numbers[2])) : 1
    let env = ProcessInfo.processInfo.environment
    let straceSeconds = Double(env["BENCH_STRACE_SECONDS"] ?? "") ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") ? 20 : 0)
    let binaries: [(String, String)] =
        env["BENCH_COMPARE"].map { spec in
            spec.split(separator: ",").map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return parts.count == 2 ? (parts[0], parts[1]) : (URL(fileURLWithPath: parts[0]).lastPathComponent, parts[0])
            }
        } ?? [("HEAD", defaultBinary)]
    let metricsModes = (env["BENCH_METRICS"] ?? "off").split(separator: ",").map { $0 == "on" || $0 == "1" }
    let variants = binaries.flatMap { b in metricsModes.map { SteadyVariant(label: b.0, binary: b.1, metrics: $0) } }
    var results: [SteadyResult] = []
    for round in 1...rounds {
        for v in variants {
            let r = try await steadyRun(v, round: round, seconds: seconds, rate: rate, straceSeconds: straceSeconds, work: work)
            results.append(r)
            FileHandle.standardError.write(
                Data(
                    "round \(round) \(v.name): \(r.notes) notes, \(f(r.notesPerSecond, 1))/s, CPU \(f(r.cpu, 2)) s = \(f(r.cpuPerNote, 3)) ms per note\(r.syscalls.map { ", \(f(Double($0.total) / Double($0.notes), 1)) syscalls per note" } ?? "")\n"
                        .utf8))
        }
    }
    print(
        "bench-agent --steady: \(f(seconds)) s at \(f(rate)) notes/s, two LocalRelay primaries (one author and one publishing connection each\(steadyCopies ? "; every note published to both, BENCH_STEADY_COPIES" : "")) -> relaysync run -> two LocalRelay backups, 127.0.0.1, release builds"
    )
    print("  CPU window: first publish to the last note on both backups; CPU = the daemon's utime+stime from /proc/PID/stat")
    print(
        "  | round | variant | notes | notes/s in | window | daemon CPU | ms CPU per note | idle CPU (ms/s) | per note net of idle | threads | to both backups p50 / p99 / max | scrapes | LocalRelay ms per note: primaries / backups |"
    )
    print("  |---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        print(
            "  | \(r.round) | \(r.variant.name) | \(r.notes) | \(f(r.notesPerSecond, 1)) | \(f(r.windowSeconds, 1)) s | \(f(r.cpu, 2)) s | \(f(r.cpuPerNote, 3)) | \(f(r.idleCPUPerSecond * 1e3, 1)) | \(f(r.cpuPerNoteNetOfIdle, 3)) | \(r.threads) | \(f(r.p50, 1)) / \(f(r.p99, 1)) / \(f(r.max, 1)) ms | \(r.variant.metrics ? "\(r.scrapes) ok, \(r.scrapeFailures) failed, \(r.scrapeBytes / max(1, r.scrapes)) B each" : "off") | \(f(r.primariesPerNote, 3)) / \(f(r.backupsPerNote, 3)) |"
        )
    }
    for v in variants {
        let per = results.filter { $0.variant.name == v.name }.map(\.cpuPerNote).sorted()
        print("  \(v.name): ms CPU per note, median of \(per.count): \(f(per[per.count / 2], 3)) (runs: \(per.map { f($0, 3) }.joined(separator: ", ")))")
    }
    let traced = results.filter { $0.syscalls != nil }
    guard !traced.isEmpty else { return }
    print(
        "  system calls per note, `strace -f -c -p PID` over a separate \(f(straceSeconds)) s window at the same rate (strace attached to every thread; its CPU is not the one above):"
    )
    var names: [String] = []
    for r in traced { for row in r.syscalls!.rows.prefix(12) where !names.contains(row.name) { names.append(row.name) } }
    let header = traced.map { "r\($0.round) \($0.variant.name)" }
    print("  | syscall | " + header.joined(separator: " | ") + " |")
    print("  |---|" + traced.map { _ in "---|" }.joined())
    print("  | **total** | " + traced.map { r in "**" + f(Double(r.syscalls!.total) / Double(r.syscalls!.notes), 1) + "**" }.joined(separator: " | ") + " |")
    for name in names { print("  | \(name) | " + traced.map { f($0.syscalls!.perNote(name), 1) }.joined(separator: " | ") + " |") }
    print("  | (notes traced; threads attached) | " + traced.map { "\($0.syscalls!.notes); \($0.syscalls!.threadsAttached)" }.joined(separator: " | ") + " |")
}
