import Foundation
import Logging
import NostrCore
import PeerHarness
import RelayClient

// scripts/bench-relay: publish and fetch through RelaySync's client against LocalRelay and
// nostr-relay on 127.0.0.1, beside nostr-sdk's own client doing the same work on a fresh relay
// of the same kind, in one run; with the CPU seconds of the client and of the relay.

struct Row {
    var client: String
    var relay: String
    var published = 0, publishSeconds = 0.0, fetched = 0, fetchSeconds = 0.0
    var clientCPU = 0.0, relayPublishCPU = 0.0, relayFetchCPU = 0.0
    /// RelaySync only: what its connection did, to tell a relay's cost from our retries or paging.
    var notes = ""
}

let logger: Logger = {
    var l = Logger(label: "bench-relay")
    l.logLevel = .error
    return l
}()
let counts: [TestRelay.Flavor: Int] = [
    .localRelay: Int(ProcessInfo.processInfo.environment["BENCH_LOCALRELAY_EVENTS"] ?? "") ?? 10_000,
    .nostrRelay: Int(ProcessInfo.processInfo.environment["BENCH_NOSTRRELAY_EVENTS"] ?? "") ?? 3_000,
]
var rows: [Row] = []

/// BENCH_PIN_RELAY=N: every process and thread of each relay (both clients' alike) on CPU N only.
/// On this 2-core VM a relay whose threads hand work back and forth (nostr-relay's event loop and
/// its SQLite thread) costs more CPU per event when the other core is idle, as it is beside an
/// efficient client; pinning takes that scheduler effect out of the relay's figures.
let pinCPU = ProcessInfo.processInfo.environment["BENCH_PIN_RELAY"].flatMap(Int.init)

/// BENCH_PIN_CLIENT=N: this process (RelaySync's client) and the nostr-sdk tool it starts on CPU N only.
let pinClientCPU = ProcessInfo.processInfo.environment["BENCH_PIN_CLIENT"].flatMap(Int.init)

func taskset(cpu: Int, pid: String) throws {
    let taskset = Process()
    taskset.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
    taskset.arguments = ["-a", "-p", "-c", String(cpu), pid]
    taskset.standardOutput = FileHandle.nullDevice
    try taskset.run()
    taskset.waitUntilExit()
    guard taskset.terminationStatus == 0 else { throw PeerError("taskset -c \(cpu) on process \(pid) failed") }
}

func pin(_ peer: TestRelay) throws {
    guard let cpu = pinCPU else { return }
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, Int32(fields[2]) == peer.pid else { continue }
        try taskset(cpu: cpu, pid: entry)
    }
}

func ours(_ flavor: TestRelay.Flavor, _ events: [Event], authors: [String]) async throws -> Row {
    try await TestRelay.with(flavor) { peer in
        try pin(peer)
        var row = Row(client: "RelaySync", relay: flavor.rawValue)
        var configuration = RelayConfiguration(url: peer.url)
        let env = ProcessInfo.processInfo.environment
        if let w = env["BENCH_WINDOW"].flatMap(Int.init) { configuration.publishWindow = w }
        if env["BENCH_NO_DEFLATE"] != nil { configuration.compression = false }
        if env["BENCH_DEFLATE"] != nil { configuration.compression = true }
        if let l = env["BENCH_PAGE_LIMIT"].flatMap(Int.init) { configuration.fetchPageLimit = l }
        let relay = Relay(configuration: configuration, logger: logger)
        let service = Task { try await relay.run() }
        defer { relay.stop(); service.cancel() }
        guard await relay.waitUntilConnected(timeout: .seconds(10)) else { throw PeerError("cannot connect to \(peer.url)") }
        let cpu0 = ProcessCPU.ownSeconds(), relay0 = ProcessCPU.groupSeconds(peer.pid)
        var start = ContinuousClock.now
        let outcomes = await relay.publish(events)
        row.publishSeconds = (ContinuousClock.now - start) / .seconds(1)
        row.published = outcomes.values.filter(\.isDelivered).count
        let relay1 = ProcessCPU.groupSeconds(peer.pid)
        row.relayPublishCPU = relay1 - relay0
        let sent = await relay.health().eventsSent
        let cpu1 = ProcessCPU.ownSeconds()
        start = ContinuousClock.now
        let summary = try await relay.fetchAll(Filter(authors: authors)) { _, _ in }
        row.fetchSeconds = (ContinuousClock.now - start) / .seconds(1)
        row.fetched = summary.events
        let cpu2 = ProcessCPU.ownSeconds()
        row.clientCPU = cpu2 - cpu0
        row.relayFetchCPU = ProcessCPU.groupSeconds(peer.pid) - relay1
        // BENCH_FETCH_REPEAT=N (for profiling the fetch path): N more fetches, not in the table.
        for _ in 0..<(env["BENCH_FETCH_REPEAT"].flatMap(Int.init) ?? 0) {
            _ = try await relay.fetchAll(Filter(authors: authors)) { _, _ in }
        }
        let health = await relay.health()
        let ok = health.latency.eventToOK.map { "EVENT→OK median \(f($0.medianMs)) ms p90 \(f($0.p90Ms)) ms" } ?? "no OK latency"
        row.notes =
            "\(flavor.rawValue): deflate \(configuration.offersCompression ? "offered" : "not offered"), "
            + "window \(configuration.publishWindow), \(sent) EVENTs sent, \(health.reconnects) reconnects, \(ok); "
            + "fetch \(summary.pages) REQs in \(f(row.fetchSeconds, 2)) s, \(f(cpu2 - cpu1, 2)) CPU s (page limit \(await relay.information()?.limitation.maxLimit.map { "\($0) from NIP-11" } ?? "\(configuration.fetchPageLimit)"))"
        return row
    }
}

func reference(_ flavor: TestRelay.Flavor, _ events: [Event], authors: [String]) async throws -> Row {
    try await TestRelay.with(flavor) { peer in
        try pin(peer)
        var row = Row(client: "nostr-sdk 0.45", relay: flavor.rawValue)
        let cpu0 = ProcessCPU.reapedChildrenSeconds(), relay0 = ProcessCPU.groupSeconds(peer.pid)
        let published = try NostrSDKTool.publish(events.map(\.rawJSON), to: peer.url)
        row.published = published.accepted
        row.publishSeconds = published.seconds
        let relay1 = ProcessCPU.groupSeconds(peer.pid)
        row.relayPublishCPU = relay1 - relay0
        let filter = #"{"authors":[\#(authors.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        let fetched = try NostrSDKTool.fetch(peer.url, filterJSON: filter)
        row.fetched = fetched.count
        row.fetchSeconds = fetched.seconds
        row.clientCPU = ProcessCPU.reapedChildrenSeconds() - cpu0
        row.relayFetchCPU = ProcessCPU.groupSeconds(peer.pid) - relay1
        return row
    }
}

if let cpu = pinClientCPU { try taskset(cpu: cpu, pid: String(ProcessInfo.processInfo.processIdentifier)) }
for flavor in [TestRelay.Flavor.localRelay, .nostrRelay] {
    let n = counts[flavor]!
    let now = Int64(Date().timeIntervalSince1970)
    let events = SampleEvents.make(count: n, authors: 20, end: now - 60, span: 200 * 86_400)
    let authors = Array(Set(events.map(\.pubkey)))
    // BENCH_DUMP_EVENTS=DIR writes each relay's event set as JSON lines, to replay it with other clients.
    if let dir = ProcessInfo.processInfo.environment["BENCH_DUMP_EVENTS"] {
        try events.map(\.rawJSON).joined(separator: "\n").write(toFile: "\(dir)/\(flavor.rawValue).jsonl", atomically: true, encoding: .utf8)
    }
    rows.append(try await ours(flavor, events, authors: authors))
    rows.append(try await reference(flavor, events, authors: authors))
}

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
print("bench-relay: same events through each client into a fresh relay; fetch = every stored event of their authors")
print("client          relay       publish ev/s  (ok/sent)     fetch ev/s  (got)   client CPU s  relay CPU s (publish+fetch)")
for r in rows {
    let sent = counts[r.relay == TestRelay.Flavor.localRelay.rawValue ? .localRelay : .nostrRelay]!
    print(
        [
            r.client.padding(toLength: 15, withPad: " ", startingAt: 0),
            r.relay.padding(toLength: 11, withPad: " ", startingAt: 0),
            f(Double(r.published) / r.publishSeconds).leftPad(12), "(\(r.published)/\(sent))".leftPad(13),
            f(Double(r.fetched) / r.fetchSeconds).leftPad(14), "(\(r.fetched))".leftPad(7),
            f(r.clientCPU, 2).leftPad(14), f(r.relayPublishCPU + r.relayFetchCPU, 2).leftPad(12),
            "(\(f(r.relayPublishCPU, 2))+\(f(r.relayFetchCPU, 2)))",
        ].joined(separator: " "))
}
for r in rows where !r.notes.isEmpty { print("RelaySync on \(r.notes)") }
print("nostr-sdk's fetch is one REQ: LocalRelay caps every REQ at 500 events, so it cannot get more; RelaySync pages past the cap.")
print("client CPU: RelaySync's is this process; nostr-sdk's is its Python process, start-up included.")
if let pinCPU { print("each relay pinned to CPU \(pinCPU) (BENCH_PIN_RELAY)") }
if let pinClientCPU { print("both clients pinned to CPU \(pinClientCPU) (BENCH_PIN_CLIENT)") }

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
