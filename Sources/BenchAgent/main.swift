import BenchSupport
import CSecp256k1
import Foundation
import Ledger
import Logging
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-agent: `relaysync run --once` mirroring LocalRelay -> LocalRelay, at 20,000 and
// 100,000 events (CPU per 1,000 events against a bare signature verification, peak RSS); beside each
// mirror, the same events fetched only (no backup) and delivered only (from that full ledger to an
// empty backup); then the daemon's live propagation from a publish on the primary to the event on
// the backup. BENCH_PHASES=0 skips the fetch-only and deliver-only runs.

let logger: Logger = {
    var l = Logger(label: "bench-agent")
    l.logLevel = .error
    return l
}()
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
// BENCH_RELAYSYNC=PATH runs another build of relaysync (for example an older commit's).
let relaysync = ProcessInfo.processInfo.environment["BENCH_RELAYSYNC"] ?? binDir.appendingPathComponent("relaysync").path
let sizes = CommandLine.arguments.dropFirst().compactMap(Int.init).isEmpty ? [20_000, 100_000] : CommandLine.arguments.dropFirst().compactMap(Int.init)
let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-bench-agent-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { if ProcessInfo.processInfo.environment["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) } else { print("kept \(work.path)") } }

// --postgres [EVENTS...]: the one-shot mirror on SQLite and on PostgreSQL, side by side (Postgres.swift).
if let flag = CommandLine.arguments.firstIndex(of: "--postgres") {
    do {
        try await postgresMain(sizes: CommandLine.arguments[(flag + 1)...].compactMap(Int.init), binary: relaysync)
    } catch {
        FileHandle.standardError.write(Data("bench-agent --postgres: \(error)\n".utf8))
        if ProcessInfo.processInfo.environment["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) }
        exit(1)
    }
    if ProcessInfo.processInfo.environment["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) }
    exit(0)
}

// --steady [SECONDS] [RATE] [ROUNDS]: the live path at a steady rate (Steady.swift), instead of the one-shot runs.
if let flag = CommandLine.arguments.firstIndex(of: "--steady") {
    do {
        try await steadyMain(arguments: Array(CommandLine.arguments[(flag + 1)...]), defaultBinary: relaysync, work: work)
    } catch {
        FileHandle.standardError.write(Data("bench-agent --steady: \(error)\n".utf8))
        if ProcessInfo.processInfo.environment["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) }
        exit(1)
    }
    if ProcessInfo.processInfo.environment["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) } else { print("kept \(work.path)") }
    exit(0)
}

func withRelay<T>(_ url: RelayURL, _ body: (Relay) async throws -> T) async throws -> T {
    try await BenchClient.withRelay(url, logger: logger, body)
}

/// `backup: nil` reads the primary only (fetch-only). `name` lets one folder (one ledger) hold several configs.
func writeConfig(_ dir: URL, authors: [String], primary: RelayURL, backup: RelayURL?, name: String = "sync.json", ledger: String = "ledger.sqlite") throws
    -> String
{
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let relays = [#"{"url": "\#(primary)", "role": "primary"}"#] + (backup.map { [#"{"url": "\#($0)", "role": "backup"}"#] } ?? [])
    let config = """
        {"pubkeys": [\(authors.map { "\"\($0)\"" }.joined(separator: ","))],
         "relays": [\(relays.joined(separator: ", "))],
         "ledger": "\(ledger)", "archive": {"directory": "archive"}, "log_level": "error"}
        """
    let path = dir.appendingPathComponent(name).path
    try config.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Microseconds per bare secp256k1_schnorrsig_verify (keys pre-parsed) on these events.
func bareVerifyMicros(_ events: [Event]) -> Double {
    let ctx = secp256k1_context_create(UInt32(1))!
    let sample = events.prefix(5_000).map { e -> ([UInt8], [UInt8], secp256k1_xonly_pubkey) in
        var k = secp256k1_xonly_pubkey()
        _ = secp256k1_xonly_pubkey_parse(ctx, &k, Hex.decode(e.pubkey)!)
        return (Hex.decode(e.sig)!, Hex.decode(e.id)!, k)
    }
    var best = Double.infinity
    for _ in 0..<3 {
        let start = ContinuousClock.now
        for var s in sample { precondition(secp256k1_schnorrsig_verify(ctx, s.0, s.1, 32, &s.2) == 1) }
        best = min(best, (ContinuousClock.now - start) / .seconds(1))
    }
    return best / Double(sample.count) * 1e6
}

/// `handled` is what the agent fetched, recorded and mirrored: the primary keeps fewer than were
/// published (a newer replaceable version replaces the older), and CPU per event is per handled event.
/// `bare` is the bare verify timed just before and just after the run, averaged, so both sides of the
/// ratio see the same machine.
struct OnceResult {
    var store: String; var events: Int; var handled: Int; var seconds: Double; var cpu: Double; var peakRSS: Int; var summary: String; var bare: Double
    /// The system (kernel) part of `cpu`, seconds.
    var systemCPU: Double = 0
    /// The same events read from the primary into a fresh ledger with no backup configured.
    var fetchOnly: Measured?
    /// Then, on that full ledger, the backup added: delivery into an empty backup (the run also
    /// catches up with and reconciles the primary).
    var deliverOnly: Measured?
    /// CPU µs per handled event (= ms per 1,000), and that against the bare verify.
    var perEvent: Double { cpu / Double(handled) * 1e6 }
    var ratio: Double { perEvent / bare }
    /// The same for user time alone.
    var userPerEvent: Double { (cpu - systemCPU) / Double(handled) * 1e6 }
}

/// One `relaysync run --once`: wall time, the child's own CPU, its peak RSS (VmHWM) and its output.
struct Measured {
    var seconds: Double; var cpu: Double; var peakRSS: Int; var summary: String
    /// The summary's "reconciled ..." lines.
    var reconciled: [String] { summary.split(separator: "\n").filter { $0.contains("reconciled ") }.map { $0.trimmingCharacters(in: .whitespaces) } }
}

func measuredRun(_ args: [String], log: String) async throws -> Measured {
    let start = ContinuousClock.now
    let child = try ChildProcess.spawn(args, output: log)
    let peak = PeakRSS()
    let sampler = peak.sampling(child.pid, every: .milliseconds(20))
    let r = child.wait()
    sampler.cancel()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    let summary = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard r.status == 0 else { throw PeerError("\(args.dropFirst().joined(separator: " ")) failed (\(r.status)):\n\(summary)") }
    return Measured(seconds: seconds, cpu: r.cpu, peakRSS: peak.value, summary: summary)
}

/// Fetch-only and deliver-only runs of the same events: a fresh ledger reads the primary with no
/// backup configured; then the same ledger, now with an empty backup, delivers everything.
func phases(primary: TestRelay, options: TestRelay.Options, authors: [String], expected: Set<String>, n: Int) async throws -> (Measured, Measured) {
    let dir = work.appendingPathComponent("phases-\(n)-\(UUID().uuidString.prefix(8))")
    let fetchConfig = try writeConfig(dir, authors: authors, primary: primary.url, backup: nil, name: "fetch.json")
    let fetch = try await measuredRun([relaysync, "run", "--once", "--config", fetchConfig], log: dir.appendingPathComponent("fetch.log").path)
    let backup = try await TestRelay.start(.localRelay, options: options)
    defer { backup.stopNow() }
    let deliverConfig = try writeConfig(dir, authors: authors, primary: primary.url, backup: backup.url, name: "deliver.json")
    let deliver = try await measuredRun([relaysync, "run", "--once", "--config", deliverConfig], log: dir.appendingPathComponent("deliver.log").path)
    let delivered = try await withRelay(backup.url) { relay in
        let ids = IDSet()
        _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in ids.add(page.map(\.id)) }
        return ids.value
    }
    guard delivered == expected else {
        throw PeerError(
            "deliver-only: the backup holds \(delivered.count) events, the primary \(expected.count); \(expected.subtracting(delivered).count) missing")
    }
    await backup.stop()
    return (fetch, deliver)
}

/// A primary LocalRelay holding `n` sample events of 20 authors (the relays are stopped by the caller).
func seededPrimary(_ n: Int) async throws -> (primary: TestRelay, options: TestRelay.Options, store: String, events: [Event]) {
    // LocalRelay's in-memory store keeps only the newest 75,000 events; above that, the benchmark's
    // own unbounded store (scripts/peers/memory_store.py). LMDB on request: it stores a few hundred
    // events/s, so the relays, not the agent, set the pace.
    let env = ProcessInfo.processInfo.environment
    let lmdb = env["BENCH_LMDB"] != nil
    let unbounded = !lmdb && (n > 70_000 || env["BENCH_UNBOUNDED"] != nil)
    let options = TestRelay.Options(persistent: lmdb, unboundedMemory: unbounded)
    let store = lmdb ? "LMDB" : unbounded ? "unbounded in-memory" : "in-memory"
    let primary = try await TestRelay.start(.localRelay, options: options)
    let now = Int64(Date().timeIntervalSince1970)
    let events = SampleEvents.make(count: n, authors: 20, end: now - 60, span: 365 * 86_400, seed: UInt64(n))
    do {
        try await withRelay(primary.url) { relay in
            for start in stride(from: 0, to: events.count, by: 10_000) {
                let batch = Array(events[start..<min(start + 10_000, events.count)])
                let out = await relay.publish(batch)
                // When LocalRelay stalls, the window is re-sent on a new connection and an older
                // replaceable version can land after a newer one, which LocalRelay refuses: the primary
                // keeps the newest either way, and the agent's work is counted per event it holds.
                let replaceable = Set(batch.filter { $0.kindClass == .replaceable || $0.kindClass == .addressable }.map(\.id))
                let refused = out.filter { !$0.value.isDelivered && !replaceable.contains($0.key) }.map(\.value)
                guard refused.isEmpty else {
                    throw PeerError("seeding: \(refused.count) refused: \(Dictionary(grouping: refused, by: \.description).mapValues(\.count))")
                }
            }
        }
    } catch {
        primary.stopNow()
        throw error
    }
    return (primary, options, store, events)
}

func once(_ n: Int) async throws -> OnceResult {
    let env = ProcessInfo.processInfo.environment
    let (primary, options, store, events) = try await seededPrimary(n)
    let backup = try await TestRelay.start(.localRelay, options: options)
    defer { primary.stopNow(); backup.stopNow() }
    let dir = work.appendingPathComponent("once-\(n)-\(UUID().uuidString.prefix(8))")
    let config = try writeConfig(dir, authors: Array(Set(events.map(\.pubkey))), primary: primary.url, backup: backup.url)
    let log = dir.appendingPathComponent("once.log").path
    let bareBefore = bareVerifyMicros(events)
    let start = ContinuousClock.now
    // BENCH_WRAP (for profiling, e.g. "/usr/bin/perf record -g -o /tmp/agent.data --") prefixes the command.
    let wrap = ProcessInfo.processInfo.environment["BENCH_WRAP"].map { $0.split(separator: " ").map(String.init) } ?? []
    let child = try ChildProcess.spawn(wrap + [relaysync, "run", "--once", "--config", config], output: log)
    // Peak RSS is read from the child's own VmHWM: wait4's ru_maxrss also counts the parent's
    // memory that the spawned child shared until exec, which here is every generated event.
    let trace = ProcessInfo.processInfo.environment["BENCH_TRACE_RSS"] != nil
    let peak = PeakRSS()
    let sampler = Task {
        while !Task.isCancelled {
            if let status = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8) {
                for line in status.split(separator: "\n") where line.hasPrefix("VmHWM") || (trace && line.hasPrefix("VmRSS")) {
                    let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
                    if line.hasPrefix("VmHWM") { peak.note(kb * 1024) }
                    if trace { FileHandle.standardError.write(Data("t=\(f((ContinuousClock.now - start) / .seconds(1), 2)) \(line)\n".utf8)) }
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
    let r = child.wait()
    sampler.cancel()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    let summary = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard r.status == 0 else { throw PeerError("relaysync --once failed (\(r.status)):\n\(summary)") }
    // The mirror is checked, not assumed: the backup must hold exactly the primary's events.
    let authors = Array(Set(events.map(\.pubkey)))
    var held: [Set<String>] = []
    for url in [primary.url, backup.url] {
        held.append(
            try await withRelay(url) { relay in
                let ids = IDSet()
                _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in ids.add(page.map(\.id)) }
                return ids.value
            })
    }
    guard held[0] == held[1] else {
        throw PeerError("backup holds \(held[1].count) events, primary \(held[0].count); \(held[0].subtracting(held[1]).count) missing")
    }
    await backup.stop()
    let bareAfter = bareVerifyMicros(events)
    let handled = try Ledger(path: dir.appendingPathComponent("ledger.sqlite").path).eventCount()
    var result = OnceResult(
        store: store, events: n, handled: handled, seconds: seconds, cpu: r.cpu, peakRSS: peak.value, summary: summary,
        bare: (bareBefore + bareAfter) / 2, systemCPU: r.systemCPU)
    if env["BENCH_PHASES"] != "0" {
        (result.fetchOnly, result.deliverOnly) = try await phases(primary: primary, options: options, authors: authors, expected: held[0], n: n)
    }
    await primary.stop()
    return result
}

final class IDSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<String>()
    func add(_ more: [String]) { lock.withLock { ids.formUnion(more) } }
    var value: Set<String> { lock.withLock { ids } }
}

final class Arrivals: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [String: ContinuousClock.Instant] = [:]
    func note(_ id: String) { lock.withLock { if times[id] == nil { times[id] = .now } } }
    func time(_ id: String) -> ContinuousClock.Instant? { lock.withLock { times[id] } }
    var count: Int { lock.withLock { times.count } }
}

/// Live: the daemon runs; events are published one at a time on the primary; the time until
/// the backup hands each one to a live subscription is measured (an upper bound on the time to
/// the backup's OK to the agent, since the backup broadcasts after it stores).
func live(count: Int) async throws -> [Double] {
    let primary = try await TestRelay.start(.localRelay)
    let backup = try await TestRelay.start(.localRelay)
    defer { primary.stopNow(); backup.stopNow() }
    let key = SecretKey.generate()
    let dir = work.appendingPathComponent("live")
    let config = try writeConfig(dir, authors: [key.publicKey], primary: primary.url, backup: backup.url)
    let daemon = try ChildProcess.spawn([relaysync, "run", "--config", config], output: dir.appendingPathComponent("daemon.log").path)
    defer { kill(daemon.pid, SIGTERM); _ = daemon.wait() }
    try await Task.sleep(for: .seconds(3))
    let arrivals = Arrivals()
    return try await withRelay(backup.url) { watcher in
        let since = Int64(Date().timeIntervalSince1970) - 5
        let sub = watcher.subscribe([Filter(authors: [key.publicKey], since: since)], live: true)
        let reader = Task { for await item in sub { if case let .event(e) = item { arrivals.note(e.id) } } }
        defer { reader.cancel(); sub.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        return try await withRelay(primary.url) { publisher in
            var latencies: [Double] = []
            for i in 0..<count {
                let e = try key.sign(kind: 1, content: "live \(i)", createdAt: Int64(Date().timeIntervalSince1970))
                let sent = ContinuousClock.now
                guard await publisher.publish(e).isDelivered else { throw PeerError("primary refused a live event") }
                let deadline = sent + .seconds(5)
                while arrivals.time(e.id) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .microseconds(200)) }
                guard let got = arrivals.time(e.id) else { throw PeerError("live event \(i) did not reach the backup in 5 s") }
                latencies.append((got - sent) / .milliseconds(1))
                try await Task.sleep(for: .milliseconds(10))
            }
            return latencies
        }
    }
}

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
// This VM's speed drifts between runs (the bare verify alone moves by a fifth), so every size is
// repeated (BENCH_REPEAT, default 3) and the median ratio is reported beside every run's own.
let repeats = max(1, Int(ProcessInfo.processInfo.environment["BENCH_REPEAT"] ?? "") ?? 3)
var results: [OnceResult] = []
for n in sizes {
    for _ in 0..<repeats { results.append(try await once(n)) }
}
let latencies = try await live(count: 300).sorted()
func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] }

print("bench-agent: relaysync run --once, LocalRelay -> LocalRelay on 127.0.0.1 (release build)")
for r in results {
    print(
        "  \(r.events) events published, \(r.handled) kept by the primary and mirrored (\(r.store) relays): \(f(r.seconds, 1)) s wall, \(f(Double(r.handled) / r.seconds)) events/s"
    )
    print(
        "    CPU \(f(r.cpu, 2)) s = \(f(r.perEvent, 0)) ms per 1,000 events = \(f(r.ratio, 2))x a bare verify of \(f(r.bare, 1)) µs (timed before and after the run; issue 26: <= 2x; user time alone \(f(r.userPerEvent, 0)) ms = \(f(r.userPerEvent / r.bare, 2))x), peak RSS \(f(Double(r.peakRSS) / 1_048_576, 1)) MiB (goal < 64)"
    )
    if let fetch = r.fetchOnly, let deliver = r.deliverOnly {
        print(
            "    same events, same primary: fetch-only \(f(fetch.seconds, 1)) s (no backup; CPU \(f(fetch.cpu, 2)) s, peak RSS \(f(Double(fetch.peakRSS) / 1_048_576, 1)) MiB), deliver-only \(f(deliver.seconds, 1)) s (that full ledger into an empty backup; CPU \(f(deliver.cpu, 2)) s, peak RSS \(f(Double(deliver.peakRSS) / 1_048_576, 1)) MiB), mirror \(f(r.seconds, 1)) s: \(f(r.seconds / max(fetch.seconds, deliver.seconds), 2))x the slower, \(f(r.seconds / (fetch.seconds + deliver.seconds), 2))x their sum"
        )
        for line in deliver.reconciled { print("      deliver-only run: \(line)") }
    }
}
for n in sizes {
    let ratios = results.filter { $0.events == n }.map(\.ratio).sorted()
    if ratios.count > 1 {
        print(
            "  \(n) events: median of \(ratios.count) runs \(f(ratios[ratios.count / 2], 2))x a bare verify (runs: \(ratios.map { f($0, 2) + "x" }.joined(separator: ", ")))"
        )
    }
}
print(
    "  live, publish on primary -> event on backup, \(latencies.count) events one at a time: p50 \(f(pct(0.5), 2)) ms, p90 \(f(pct(0.9), 2)) ms, p99 \(f(pct(0.99), 2)) ms, max \(f(latencies.last ?? 0, 2)) ms (goal p99 < 20 ms)"
)
if let last = results.last {
    print("  summary of the \(last.events)-event run:\n" + last.summary.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
}
let phased = results.filter { $0.fetchOnly != nil && $0.deliverOnly != nil }
if !phased.isEmpty {
    print("  fetch-only, deliver-only and mirror of the same events (each row one invocation's run; seconds of wall time, process start included):")
    print("  | events kept | fetch-only | deliver-only | mirror | mirror / slower | mirror / sum |")
    print("  |---|---|---|---|---|---|")
    for r in phased {
        let fetch = r.fetchOnly!.seconds, deliver = r.deliverOnly!.seconds
        print(
            "  | \(r.handled) | \(f(fetch, 1)) s | \(f(deliver, 1)) s | \(f(r.seconds, 1)) s | \(f(r.seconds / max(fetch, deliver), 2))x | \(f(r.seconds / (fetch + deliver), 2))x |"
        )
    }
}
