import BenchSupport
import Foundation
import Logging
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-inbox: one LocalRelay holding N events (default 100,000), of which a fifth address U
// (half NIP-59 gift wraps of about 1 KB from throwaway keys, half NIP-04 messages from 50 senders), a
// fifth are V's own notes, and the rest other people's events. `relaysync run --once` backs up the same
// number of events twice, in alternating order: selected by author (pubkeys [V]) and as U's inbox
// (pubkeys [U], inbox on; U has no notes of its own): a backfill into a new ledger, then a re-sync with
// nothing changed. Goal: the inbox within 1.2x of the author selection, in one run.
// Usage: BenchInbox [N] [ROUNDS]   (BENCH_KEEP=1 keeps the work directory)

let env = ProcessInfo.processInfo.environment
let args = CommandLine.arguments.dropFirst().compactMap(Int.init)
let n = args.first ?? 100_000
let rounds = args.dropFirst().first ?? 2
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
let relaysync = binDir.appendingPathComponent("relaysync").path
let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-bench-inbox-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { if env["BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: work) } else { print("kept \(work.path)") } }

struct Step {
    var seconds: Double
    var cpu: Double
    var peakRSS: Int
    /// The relay's CPU meanwhile: where the wall time goes when the agent waits.
    var relayCPU: Double
}

func runOnce(_ name: String, dir: URL, relay: Int32) throws -> Step {
    let log = dir.appendingPathComponent("\(name).log").path
    let relayBefore = ProcessCPU.groupSeconds(relay)
    let start = ContinuousClock.now
    let child = try ChildProcess.spawn([relaysync, "run", "--once", "--config", dir.appendingPathComponent("sync.json").path], output: log)
    let peak = PeakRSS()
    let sampler = peak.sampling(child.pid, every: .milliseconds(10))
    let r = child.wait()
    sampler.cancel()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    guard r.status == 0 else { throw PeerError("\(name) failed (\(r.status)): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
    return Step(seconds: seconds, cpu: r.cpu, peakRSS: peak.value, relayCPU: ProcessCPU.groupSeconds(relay) - relayBefore)
}

/// Runs `body` with a connected client of RelaySync's own (errors only in its log).
func withRelay<T>(_ url: RelayURL, _ body: (Relay) async throws -> T) async throws -> T {
    try await BenchClient.withRelay(url, logger: quietLogger(), body)
}

func publish(_ events: [Event], to url: RelayURL) async throws {
    try await BenchClient.publish(events, to: url, logger: quietLogger())
}

func quietLogger() -> Logger {
    var logger = Logger(label: "bench-inbox")
    logger.logLevel = .error
    return logger
}

func warmTagIndex(_ url: RelayURL) async throws {
    try await withRelay(url) { relay in
        _ = try await relay.fetchAll(Filter(tags: ["p": [String(repeating: "0", count: 64)]], limit: 1)) { _, _ in }
    }
}

func f(_ x: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", x) }

func benchmark() async throws {
    let primary = try await TestRelay.start(.localRelay, options: .init(unboundedMemory: true))
    defer { primary.stopNow() }
    let u = SecretKey.generate(), v = SecretKey.generate()
    let others = (0..<50).map { _ in SecretKey.generate() }
    let throwaway = (0..<200).map { _ in SecretKey.generate() }
    let now = Int64(Date().timeIntervalSince1970)
    let share = n / 5
    var rng = SeededGenerator(seed: 5)
    func blob(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        return String((0..<count).map { _ in alphabet[Int(rng.next() % 64)] })
    }
    var events: [Event] = []
    events.reserveCapacity(n)
    for i in 0..<share {
        let t = now - 365 * 86_400 + Int64(i) * 365 * 86_400 / Int64(share)
        if i % 2 == 0 {
            // A gift wrap: a throwaway author, a NIP-44 payload's size, dated up to two days back.
            let key = throwaway[i % throwaway.count]
            events.append(try key.sign(kind: Kind.giftWrap, content: blob(1_100), tags: [["p", u.publicKey]], createdAt: t - Int64(rng.next() % 172_800)))
        } else {
            let key = others[i % others.count]
            events.append(try key.sign(kind: Kind.encryptedDirectMessage, content: blob(160) + "?iv=" + blob(24), tags: [["p", u.publicKey]], createdAt: t))
        }
    }
    events += SampleEvents.notes(count: share, keys: [v], seed: 6) { rng in now - 365 * 86_400 + Int64(rng.next() % (365 * 86_400)) }
    events += SampleEvents.make(count: n - 2 * share, keys: others, end: now, span: 365 * 86_400, seed: 7)
    let seedStart = ContinuousClock.now
    try await publish(events, to: primary.url)
    print(
        "relay: \(n) events (\(share) to U: gift wraps and NIP-04; \(share) by V; \(n - 2 * share) others), published in \(f((ContinuousClock.now - seedStart) / .seconds(1), 1)) s"
    )

    // The store indexes a tag at the first query naming it, as a relay has its indexes before it
    // serves: built here, so no timed run pays for it.
    try await warmTagIndex(primary.url)

    let cases: [(name: String, pubkey: String, inbox: Bool)] = [("by author", v.publicKey, false), ("inbox", u.publicKey, true)]
    var results: [String: [(backfill: Step, unchanged: Step)]] = [:]
    for round in 0..<rounds {
        // Alternate the order, so neither case always runs on a warmer machine.
        for c in (round % 2 == 0 ? cases : cases.reversed()) {
            let dir = work.appendingPathComponent("\(c.inbox ? "inbox" : "author")-\(round)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try """
            {"pubkeys": ["\(c.pubkey)"], "relays": [{"url": "\(primary.url)", "role": "primary"}],
             "ledger": "ledger.sqlite", "archive": {"directory": "archive"}, "log_level": "error"\(c.inbox ? #", "inbox": {"kinds": [4, 1059]}"# : "")}
            """.write(to: dir.appendingPathComponent("sync.json"), atomically: true, encoding: .utf8)
            let backfill = try runOnce("backfill", dir: dir, relay: primary.pid)
            let unchanged = try runOnce("unchanged", dir: dir, relay: primary.pid)
            results[c.name, default: []].append((backfill, unchanged))
            print(
                "round \(round + 1) \(c.name): backfill \(f(backfill.seconds)) s (agent CPU \(f(backfill.cpu)) s, relay CPU \(f(backfill.relayCPU)) s, peak \(f(Double(backfill.peakRSS) / 1_048_576, 1)) MiB); unchanged re-sync \(f(unchanged.seconds)) s (agent CPU \(f(unchanged.cpu)) s, relay CPU \(f(unchanged.relayCPU)) s)"
            )
        }
    }
    func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    let a = results["by author"]!, b = results["inbox"]!
    print("\n| \(share) events | by author | inbox | inbox / by author |")
    print("|---|---|---|---|")
    for (label, pick) in [
        ("backfill, wall s", { (r: (backfill: Step, unchanged: Step)) in r.backfill.seconds }),
        ("backfill, agent CPU s", { $0.backfill.cpu }),
        ("unchanged re-sync, wall s", { $0.unchanged.seconds }),
        ("unchanged re-sync, agent CPU s", { $0.unchanged.cpu }),
        ("backfill, relay CPU s", { $0.backfill.relayCPU }),
        ("unchanged re-sync, relay CPU s", { $0.unchanged.relayCPU }),
    ] {
        let x = median(a.map(pick)), y = median(b.map(pick))
        print("| \(label) (median of \(rounds)) | \(f(x)) | \(f(y)) | \(f(y / x))x |")
    }
    print(
        "| peak RSS, MiB (largest) | \(f(Double(a.map(\.backfill.peakRSS).max()!) / 1_048_576, 1)) | \(f(Double(b.map(\.backfill.peakRSS).max()!) / 1_048_576, 1)) | |"
    )
}

do { try await benchmark() } catch {
    FileHandle.standardError.write(Data("bench-inbox: \(error)\n".utf8))
    exit(1)
}
