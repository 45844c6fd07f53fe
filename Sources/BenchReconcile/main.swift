import BenchSupport
import Foundation
import Ledger
import Logging
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-reconcile: N events (default 100,000) mirrored once by `relaysync run --once` from one
// LocalRelay (the primary) to another (the backup); a second `run --once` with nothing changed; then
// the backup loses 1 % behind the agent's back and the primary gains 1 % backdated notes (dated inside
// the mirrored range, far below the backfill's catch-up overlap), and a third `run --once` repairs both.
// The same repair is then made by nostr-sdk's `Client.sync` (NIP-77) from the same starting state.
// Usage: BenchReconcile [N]     (BENCH_KEEP=1 keeps the work directory; BENCH_LOG_LEVEL sets the agent's;
//   BENCH_WRAP="strace -f -tt -o /tmp/{step}.strace" prefixes each relaysync run, BENCH_WRAP_STEPS=2-unchanged
//   only that step's; BENCH_WINDOW_ITEMS sets reconcile.window_items; BENCH_SDK_WINDOW the windowed reference's
//   window; BENCH_SDK_MEMORY=1 gives the reference an in-memory database; BENCH_SKIP_REFERENCE=1 leaves it out;
//   BENCH_RELAYSYNC=PATH runs another build of relaysync; BENCH_COMPARE="before=PATH,after=PATH" runs each
//   build in turn at every step from the same state, BENCH_ROUNDS times (default 2) for the unchanged and
//   the re-sync steps, so builds are compared under the same load)

let logger: Logger = {
    var l = Logger(label: "bench-reconcile")
    l.logLevel = .error
    return l
}()
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
let n = CommandLine.arguments.dropFirst().compactMap(Int.init).first ?? 100_000
let env = ProcessInfo.processInfo.environment
let relaysync = env["BENCH_RELAYSYNC"] ?? binDir.appendingPathComponent("relaysync").path

/// A relaysync binary under test, and the label its steps are printed with.
struct Build {
    var label: String
    var path: String
}
let builds: [Build] =
    env["BENCH_COMPARE"].map { spec in
        spec.split(separator: ",").map { part in
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            return pair.count == 2 ? Build(label: pair[0], path: pair[1]) : Build(label: pair[0], path: pair[0])
        }
    } ?? [Build(label: "", path: relaysync)]
let rounds = builds.count > 1 ? max(1, Int(env["BENCH_ROUNDS"] ?? "") ?? 2) : 1
let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-bench-reconcile-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { if env["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) } else { print("kept \(work.path)") } }

final class IDSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<String>()
    func add(_ more: [String]) { lock.withLock { ids.formUnion(more) } }
    var value: Set<String> { lock.withLock { ids } }
}

func withRelay<T>(_ url: RelayURL, _ body: (Relay) async throws -> T) async throws -> T {
    try await BenchClient.withRelay(url, logger: logger, body)
}

/// Every id the relay holds for these authors (read through RelaySync's own client, signatures checked).
func heldIDs(_ url: RelayURL, authors: [String]) async throws -> Set<String> {
    try await withRelay(url) { relay in
        let ids = IDSet()
        _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in ids.add(page.map(\.id)) }
        return ids.value
    }
}

func publish(_ events: [Event], to url: RelayURL) async throws {
    try await BenchClient.publish(events, to: url, logger: logger)
}

/// Bytes sent through the loopback interface so far: everything between the agents and the relays
/// (TCP/IP headers included), and whatever else this machine sends over loopback meanwhile.
func loopbackBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "lo" else { continue }
        let fields = parts[1].split(separator: " ", omittingEmptySubsequences: true)
        return fields.count > 8 ? Int(fields[8]) ?? 0 : 0
    }
    return 0
}

struct Step {
    var name: String
    var seconds: Double
    var cpu: Double
    var peakRSS: Int
    var summary: String
    var relayCPU: Double
    var loopback: Int
    /// The summary's own figure: from the agent's start to its summary, without process start and exit.
    var inProcess: Double? {
        guard let line = summary.split(separator: "\n").first(where: { $0.hasPrefix("relaysync --once:") }),
            let s = line.split(separator: " ").reversed().dropFirst().first
        else { return nil }
        return Double(s)
    }
}

func runOnce(_ name: String, build: Build, config: String, dir: URL, relayPIDs: [Int32]) async throws -> Step {
    let label = build.label.isEmpty ? name : "\(name) \(build.label)"
    let log = dir.appendingPathComponent("\(label).log").path
    let relayCPUBefore = relayPIDs.map(ProcessCPU.groupSeconds).reduce(0, +)
    let loBefore = loopbackBytes()
    let start = ContinuousClock.now
    // BENCH_WRAP prefixes the command (a profiler, strace); "{step}" in it becomes the step's name.
    // BENCH_WRAP_STEPS (e.g. "2-unchanged,3-resync") limits it to those steps.
    let wrapped = env["BENCH_WRAP_STEPS"].map { $0.split(separator: ",").contains(Substring(name)) } ?? true
    let wrap =
        env["BENCH_WRAP"].flatMap { wrapped ? $0 : nil }.map { $0.replacingOccurrences(of: "{step}", with: name).split(separator: " ").map(String.init) } ?? []
    let child = try ChildProcess.spawn(wrap + [build.path, "run", "--once", "--config", config], output: log)
    // Peak RSS is the child's own VmHWM (wait4's ru_maxrss would also count this process's pages
    // shared with the child until exec).
    let peak = PeakRSS()
    let sampler = peak.sampling(child.pid, every: .milliseconds(10))
    let r = child.wait()
    sampler.cancel()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    let summary = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard r.status == 0 else { throw PeerError("relaysync run --once (\(label)) failed (\(r.status)):\n\(summary)") }
    return Step(
        name: label, seconds: seconds, cpu: r.cpu, peakRSS: peak.value, summary: summary,
        relayCPU: relayPIDs.map(ProcessCPU.groupSeconds).reduce(0, +) - relayCPUBefore, loopback: loopbackBytes() - loBefore)
}

/// The agent's files in its directory (ledger, archive), without the configuration and the logs.
func agentState(_ dir: URL) throws -> [URL] {
    try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter {
        $0.lastPathComponent != "sync.json" && $0.pathExtension != "log"
    }
}

func clearAgentState(_ dir: URL) throws {
    for item in try agentState(dir) { try FileManager.default.removeItem(at: item) }
}

func copyAgentState(from source: URL, to destination: URL) throws {
    try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
    for item in try agentState(source) { try FileManager.default.copyItem(at: item, to: destination.appendingPathComponent(item.lastPathComponent)) }
}

/// A unix time as its UTC day.
func day(_ t: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    return formatter.string(from: Date(timeIntervalSince1970: Double(t)))
}

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
func mib(_ b: Int) -> String { f(Double(b) / 1_048_576, 1) }
func thousands(_ x: Int) -> String {
    let s = String(abs(x))
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (x < 0 ? "-" : "") + out
}

/// One run of the reference client and the relays' sets after it.
struct Reference {
    var label: String
    var lmdb: Bool
    var reset: Int
    var wall: Double
    var toolCPU: Double
    var relayCPU: Double
    var report: [String: Any]
    var primaryAfter: Set<String>
    var backupAfter: Set<String>
    var phases: [[String: Any]] { report["phases"] as? [[String: Any]] ?? [] }
    /// The sync calls alone.
    var seconds: Double { report["seconds"] as? Double ?? 0 }
    var loopback: Int { phases.map { $0["loopback_bytes"] as? Int ?? 0 }.reduce(0, +) }
}

/// The whole benchmark, in a function so that a failure still stops the relays (top-level code
/// that throws ends the program without running its `defer`s).
func benchmark() async throws {
    // Both relays keep events in scripts/peers/memory_store.py: unbounded (LocalRelay's own memory store
    // keeps 75,000), fast to seed (LMDB stores a few hundred events/s), and able to forget events behind
    // the relay's back (TestRelay.forget) without a restart.
    let options = TestRelay.Options(unboundedMemory: true)
    let primary = try await TestRelay.start(.localRelay, options: options)
    let backup = try await TestRelay.start(.localRelay, options: options)
    defer { primary.stopNow(); backup.stopNow() }

    let keys = (0..<20).map { _ in SecretKey.generate() }
    let authors = keys.map(\.publicKey)
    let now = Int64(Date().timeIntervalSince1970)
    let events = SampleEvents.make(count: n, keys: keys, end: now - 60, span: 365 * 86_400, seed: UInt64(n))
    let seedStart = ContinuousClock.now
    try await publish(events, to: primary.url)
    let seedSeconds = (ContinuousClock.now - seedStart) / .seconds(1)

    // The product's default window; BENCH_WINDOW_ITEMS changes it.
    let windowItems = Int(env["BENCH_WINDOW_ITEMS"] ?? "") ?? 20_000
    let dir = work.appendingPathComponent("agent")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let config = dir.appendingPathComponent("sync.json").path
    try """
    {"pubkeys": [\(authors.map { "\"\($0)\"" }.joined(separator: ","))],
     "relays": [{"url": "\(primary.url)", "role": "primary"}, {"url": "\(backup.url)", "role": "backup"}],
     "ledger": "ledger.sqlite", "archive": {"directory": "archive"}, "log_level": "\(env["BENCH_LOG_LEVEL"] ?? "error")",
     "reconcile": {"enabled": true, "interval": "15m", "window_items": \(windowItems), "negentropy": true}}
    """.write(toFile: config, atomically: true, encoding: .utf8)
    let relayPIDs = [primary.pid, backup.pid]

    // 1. The first mirror, into an empty backup (with BENCH_COMPARE each build in turn, from an empty
    // ledger and an empty backup).
    var mirrors: [Step] = []
    var held = Set<String>()
    for (index, build) in builds.enumerated() {
        if index > 0 {
            try clearAgentState(dir)
            let reset = try await backup.forget(Array(held))
            guard reset == held.count else { throw PeerError("the backup forgot \(reset) of \(held.count) events") }
        }
        mirrors.append(try await runOnce("1-mirror", build: build, config: config, dir: dir, relayPIDs: relayPIDs))
        held = try await heldIDs(primary.url, authors: authors)
        let mirrored = try await heldIDs(backup.url, authors: authors)
        guard held == mirrored else {
            throw PeerError(
                "after the first run the backup holds \(mirrored.count) events, the primary \(held.count); \(held.subtracting(mirrored).count) missing")
        }
    }
    let mirror = mirrors.last!

    // 2. Nothing changed (with BENCH_COMPARE, the builds alternate, the order reversed every other round).
    var unchangedSteps: [Step] = []
    for round in 0..<rounds {
        for build in round % 2 == 0 ? builds : builds.reversed() {
            unchangedSteps.append(try await runOnce("2-unchanged", build: build, config: config, dir: dir, relayPIDs: relayPIDs))
        }
    }
    let unchanged = unchangedSteps.last!
    let ledgerPath = dir.appendingPathComponent("ledger.sqlite").path
    let recordsUnchanged = try Ledger(path: ledgerPath).lastReconciliations()
    let snapshot = work.appendingPathComponent("agent-before-resync")
    try copyAgentState(from: dir, to: snapshot)

    // 3. The backup loses 1 % (regular events, so that each lost one is plainly expected back) and the
    // primary gains 1 % backdated notes, dated inside the mirrored range and at least a day older than
    // the newest event, far below the catch-up overlap (600 s): only reconciliation can find them.
    var rng = SeededGenerator(seed: UInt64(n) &+ 7)
    let lossCount = max(1, n / 100), gainCount = max(1, n / 100)
    let lost = Array(events.filter { held.contains($0.id) && $0.kindClass == .regular }.map(\.id).shuffled(using: &rng).prefix(lossCount))
    let oldest = events.first!.createdAt, newest = events.last!.createdAt
    let backdated = SampleEvents.notes(count: gainCount, keys: keys, seed: UInt64(n) &+ 11) { Int64.random(in: oldest...(newest - 86_400), using: &$0) }
    let expected = held.union(backdated.map(\.id))
    let forgotten = try await backup.forget(lost)
    guard forgotten == lost.count else { throw PeerError("the backup forgot \(forgotten) of \(lost.count) events") }
    try await publish(backdated, to: primary.url)
    // With BENCH_COMPARE every run after the first starts again from the same state: the agent's
    // ledger and archive as they were before the re-sync, the backup without the lost 1 % and
    // without the backdated notes the previous run gave it.
    var resyncSteps: [Step] = []
    var agentCorrect = true
    var primaryAfter = Set<String>(), backupAfter = Set<String>()
    for round in 0..<rounds {
        for build in round % 2 == 0 ? builds : builds.reversed() {
            if !resyncSteps.isEmpty {
                try clearAgentState(dir)
                try copyAgentState(from: snapshot, to: dir)
                _ = try await backup.forget(lost + backdated.map(\.id))
            }
            resyncSteps.append(try await runOnce("3-resync", build: build, config: config, dir: dir, relayPIDs: relayPIDs))
            primaryAfter = try await heldIDs(primary.url, authors: authors)
            backupAfter = try await heldIDs(backup.url, authors: authors)
            agentCorrect = agentCorrect && primaryAfter == expected && backupAfter == expected
        }
    }
    let resync = resyncSteps.last!
    let recordsResync = try Ledger(path: ledgerPath).lastReconciliations()

    // 4. The reference: nostr-sdk's Client.sync from the same state. Its database holds what the ledger
    // held before the re-sync (the mirrored events); the relays are put back as they were before the
    // re-sync: the backup forgets the lost 1 % again and the backdated notes RelaySync gave it.
    // nostr-sdk's own persistent store (LMDB), as RelaySync's ledger is SQLite on disk; BENCH_SDK_MEMORY=1
    // uses memory_store.py instead. First as a client would call it (one session over everything), then,
    // when the set is larger than LocalRelay lets one NIP-77 session hold, in windows of at most
    // BENCH_SDK_WINDOW (default 40,000) events, one after another.
    let referenceEvents = work.appendingPathComponent("ledger-before-resync.jsonl")
    try (events.filter { held.contains($0.id) }.map(\.rawJSON).joined(separator: "\n") + "\n").write(to: referenceEvents, atomically: true, encoding: .utf8)
    let filterJSON = "{\"authors\":[\(authors.map { "\"\($0)\"" }.joined(separator: ","))]}"
    let sdkWindow = Int(env["BENCH_SDK_WINDOW"] ?? "") ?? 40_000
    let heldTimes = events.filter { held.contains($0.id) }.map(\.createdAt).sorted()
    var splits: [Int64] = []
    for i in stride(from: sdkWindow, to: heldTimes.count, by: sdkWindow) where heldTimes[i] > (splits.last ?? .min) { splits.append(heldTimes[i]) }
    var references: [Reference] = []
    // BENCH_SKIP_REFERENCE=1 leaves the reference out (diagnostic runs of the agent alone).
    let variants =
        env["BENCH_SKIP_REFERENCE"] != nil ? [] : [("as one session", [Int64]())] + (splits.isEmpty ? [] : [("in \(splits.count + 1) windows", splits)])
    for (label, splitAt) in variants {
        let reset = try await backup.forget(lost + backdated.map(\.id))
        let relayBefore = relayPIDs.map(ProcessCPU.groupSeconds).reduce(0, +)
        let childBefore = ProcessCPU.reapedChildrenSeconds()
        let start = ContinuousClock.now
        let lmdb = env["BENCH_SDK_MEMORY"] == nil ? work.appendingPathComponent("sdk-lmdb-\(references.count)").path : nil
        let json = try NostrSDKTool.sync(
            eventsFile: referenceEvents.path, filterJSON: filterJSON, relays: [primary.url, backup.url], thenUp: backup.url,
            lmdbDirectory: lmdb, splitAt: splitAt)
        let wall = (ContinuousClock.now - start) / .seconds(1)
        references.append(
            Reference(
                label: label, lmdb: lmdb != nil, reset: reset, wall: wall, toolCPU: ProcessCPU.reapedChildrenSeconds() - childBefore,
                relayCPU: relayPIDs.map(ProcessCPU.groupSeconds).reduce(0, +) - relayBefore,
                report: try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:],
                primaryAfter: try await heldIDs(primary.url, authors: authors), backupAfter: try await heldIDs(backup.url, authors: authors)))
    }
    await primary.stop()
    await backup.stop()

    // The report.
    func perRelay(_ phase: [String: Any], _ key: String, _ url: String) -> Int { (phase[key] as? [String: Any])?[url] as? Int ?? 0 }
    func relayName(_ url: String) -> String { url == primary.url.normalized ? "primary" : url == backup.url.normalized ? "backup" : url }

    print("bench-reconcile: \(thousands(n)) events (SampleEvents, 20 authors, a year), LocalRelay -> LocalRelay (memory_store.py) on 127.0.0.1, release build")
    print(
        "  primary seeded in \(f(seedSeconds, 1)) s; the primary keeps \(thousands(held.count)) (newest replaceable versions only); reconcile window_items \(thousands(windowItems))"
    )
    print(
        "  re-sync scenario: the backup forgot \(thousands(lost.count)) events behind the agent's back; the primary gained \(thousands(backdated.count)) notes dated \(day(oldest))..\(day(newest - 86_400)) (newest event: \(day(newest)))"
    )
    print("")
    let privateLoopback = env["RELAYSYNC_BENCH_NETNS"] == "1"
    print(
        "  loopback bytes: sent through the loopback interface during the step, TCP/IP headers included; \(privateLoopback ? "in a network namespace of the benchmark's own, so nothing else counts" : "NOT isolated (no private network namespace): other loopback traffic on the machine counts too")"
    )
    print("  | step | wall | in-process | agent CPU | relays' CPU | peak RSS | loopback bytes |")
    print("  |---|---|---|---|---|---|---|")
    for s in mirrors + unchangedSteps + resyncSteps {
        print(
            "  | \(s.name) | \(f(s.seconds, 2)) s | \(s.inProcess.map { f($0, 1) + " s" } ?? "?") | \(f(s.cpu, 2)) s | \(f(s.relayCPU, 2)) s | \(mib(s.peakRSS)) MiB | \(thousands(s.loopback)) |"
        )
    }
    if builds.count > 1 {
        func median(_ xs: [Double]) -> Double {
            let sorted = xs.sorted()
            return sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        print("")
        print("  medians by build | step | build | runs | wall | agent CPU |")
        for step in ["1-mirror", "2-unchanged", "3-resync"] {
            for build in builds {
                let runs = (mirrors + unchangedSteps + resyncSteps).filter { $0.name == "\(step) \(build.label)" }
                print("  | \(step) | \(build.label) | \(runs.count) | \(f(median(runs.map(\.seconds)), 2)) s | \(f(median(runs.map(\.cpu)), 2)) s |")
            }
        }
    }
    print("")
    print("  reconciliation records (ledger table reconciliations; messages include fetch REQ/EVENT/EOSE, bytes are NIP-77 hex payload only):")
    for (label, records) in [("2-unchanged", recordsUnchanged), ("3-resync", recordsResync)] {
        for (url, entry) in records.sorted(by: { $0.key < $1.key }) {
            let r = entry.last
            print(
                "    \(label) \(relayName(url.normalized)): \(r.method), \(r.windows) windows, ledger \(thousands(r.ledgerEvents)), relay \(r.relayEvents.map(thousands) ?? "?"), missing on relay \(r.missingOnRelay) (sent again \(r.requeued), lost after delivery \(r.lostAfterDelivery)), missing in ledger \(r.missingInLedger) (fetched \(r.fetched)), \(thousands(r.messages)) messages, \(thousands(r.bytes)) bytes\(r.error.map { ", ERROR \($0)" } ?? "")"
            )
        }
    }
    print(
        "  after the re-sync: primary \(primaryAfter == expected ? "holds exactly the expected \(thousands(expected.count))" : "WRONG: \(thousands(primaryAfter.count)) held, \(expected.subtracting(primaryAfter).count) missing, \(primaryAfter.subtracting(expected).count) unexpected"); backup \(backupAfter == expected ? "holds exactly the expected \(thousands(expected.count))" : "WRONG: \(thousands(backupAfter.count)) held, \(expected.subtracting(backupAfter).count) missing, \(backupAfter.subtracting(expected).count) unexpected")"
    )
    print("")
    for ref in references {
        let report = ref.report
        print(
            "  reference \(ref.label): nostr-sdk 0.45.1 Client.sync (NIP-77), client database \(ref.lmdb ? "nostr-sdk's LMDB store" : "in memory (memory_store.py)") seeded with the \(thousands(report["seeded"] as? Int ?? 0)) events the ledger held before the re-sync (\(f(report["seed_seconds"] as? Double ?? 0, 1)) s, not timed); the backup reset to its state before the re-sync (forgot \(thousands(ref.reset)))"
        )
        for p in ref.phases {
            let failed = (p["failed"] as? [String: String] ?? [:]).map { "\(relayName($0.key)) FAILED: \($0.value)" }.sorted()
            var parts: [String] = []
            for url in [primary.url.normalized, backup.url.normalized]
            where (p["success"] as? [String] ?? []).contains(url) || (p["failed"] as? [String: String] ?? [:])[url] != nil {
                parts.append(
                    "\(relayName(url)): remote-only \(perRelay(p, "remote_only", url)), received \(perRelay(p, "received", url)), sent \(perRelay(p, "sent", url)), send failures \(perRelay(p, "send_failures", url))"
                )
            }
            print(
                "    \(p["name"] as? String ?? "?"): \(f(p["seconds"] as? Double ?? 0, 2)) s; local-only \(p["local_only"] as? Int ?? 0); \(parts.joined(separator: "; "))\(failed.isEmpty ? "" : "; " + failed.joined(separator: "; ")); \(thousands(p["loopback_bytes"] as? Int ?? 0)) loopback bytes"
            )
        }
        let downloaded = (report["held_after"] as? Int ?? 0) - (report["seeded"] as? Int ?? 0)
        print(
            "    after it: primary \(ref.primaryAfter == expected ? "holds exactly the expected \(thousands(expected.count))" : "\(thousands(ref.primaryAfter.count)) held, \(expected.subtracting(ref.primaryAfter).count) missing"); backup \(ref.backupAfter == expected ? "holds exactly the expected \(thousands(expected.count))" : "\(thousands(ref.backupAfter.count)) held, \(expected.subtracting(ref.backupAfter).count) of \(thousands(expected.count)) missing (\(expected.subtracting(ref.backupAfter).intersection(lost).count) of the lost, \(expected.subtracting(ref.backupAfter).intersection(backdated.map(\.id)).count) of the backdated)"); the client database holds \(thousands(report["held_after"] as? Int ?? 0)) (\(thousands(downloaded)) of the \(thousands(backdated.count)) backdated downloaded)"
        )
        print(
            "    tool process: \(f(ref.wall, 2)) s wall including start and seeding, \(f(ref.toolCPU, 2)) s CPU, peak RSS \(mib(report["peak_rss"] as? Int ?? 0)) MiB (including the events it parsed to seed its database); relays' CPU during it \(f(ref.relayCPU, 2)) s"
        )
    }
    print("")
    let resyncMessages = recordsResync.values.map(\.last.messages).reduce(0, +)
    let resyncBytes = recordsResync.values.map(\.last.bytes).reduce(0, +)
    let unchangedMessages = recordsUnchanged.values.map(\.last.messages).reduce(0, +)
    let unchangedBytes = recordsUnchanged.values.map(\.last.bytes).reduce(0, +)
    print(
        "  | \(thousands(n)) events | RelaySync run --once | " + references.map { "nostr-sdk Client.sync \($0.label)" }.joined(separator: " | ") + " | goal |")
    print("  |---|---|" + references.map { _ in "---|" }.joined() + "---|")
    let blanks = references.map { _ in " |" }.joined()
    print("  | re-sync, nothing changed | \(f(unchanged.seconds, 2)) s wall (\(unchanged.inProcess.map { f($0, 2) } ?? "?") s in-process) |\(blanks) < 1 s |")
    print(
        "  | re-sync after 1 % lost + 1 % backdated | \(f(resync.seconds, 2)) s wall (\(resync.inProcess.map { f($0, 2) } ?? "?") s in-process) | "
            + references.map { "\(f($0.seconds, 2)) s (sync calls only); RelaySync / it \(f(resync.seconds / max($0.seconds, 1e-9), 2))x" }.joined(
                separator: " | ") + " | faster than the reference |")
    print(
        "  | end state correct | \(agentCorrect ? "yes" : "NO") | "
            + references.map {
                $0.primaryAfter == expected && $0.backupAfter == expected ? "yes" : "NO: backup lacks \(expected.subtracting($0.backupAfter).count)"
            }.joined(separator: " | ") + " | |")
    print(
        "  | messages / NIP-77 payload bytes (unchanged; re-sync) | \(thousands(unchangedMessages)) / \(thousands(unchangedBytes)); \(thousands(resyncMessages)) / \(thousands(resyncBytes)) |\(references.map { _ in " n/a |" }.joined()) |"
    )
    print("  | loopback bytes, re-sync | \(thousands(resync.loopback)) | " + references.map { thousands($0.loopback) }.joined(separator: " | ") + " | |")
    print(
        "  | peak RSS (RelaySync: mirror; unchanged; re-sync) | \(mib(mirror.peakRSS)); \(mib(unchanged.peakRSS)); \(mib(resync.peakRSS)) MiB | "
            + references.map { "\(mib($0.report["peak_rss"] as? Int ?? 0)) MiB (seeding included)" }.joined(separator: " | ") + " | < 64 MiB |")
    print("  first mirror: \(f(mirror.seconds, 1)) s wall, \(f(Double(held.count) / mirror.seconds)) events/s")
    for s in [unchanged, resync] {
        print("  summary of \(s.name):\n" + s.summary.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    }
}

do {
    try await benchmark()
} catch {
    FileHandle.standardError.write(Data("bench-reconcile failed: \(error)\n".utf8))
    if env["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) }
    exit(1)
}
