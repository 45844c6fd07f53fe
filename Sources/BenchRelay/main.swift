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
    var clientCPU = 0.0, relayCPU = 0.0
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

func ours(_ flavor: TestRelay.Flavor, _ events: [Event], authors: [String]) async throws -> Row {
    try await TestRelay.with(flavor) { peer in
        var row = Row(client: "RelaySync", relay: flavor.rawValue)
        var configuration = RelayConfiguration(url: peer.url)
        let env = ProcessInfo.processInfo.environment
        if let w = env["BENCH_WINDOW"].flatMap(Int.init) { configuration.publishWindow = w }
        if env["BENCH_NO_DEFLATE"] != nil { configuration.compression = false }
        let relay = Relay(configuration: configuration, logger: logger)
        let service = Task { try await relay.run() }
        defer { relay.stop(); service.cancel() }
        guard await relay.waitUntilConnected(timeout: .seconds(10)) else { throw PeerError("cannot connect to \(peer.url)") }
        let cpu0 = ProcessCPU.ownSeconds(), relay0 = ProcessCPU.groupSeconds(peer.pid)
        var start = ContinuousClock.now
        let outcomes = await relay.publish(events)
        row.publishSeconds = (ContinuousClock.now - start) / .seconds(1)
        row.published = outcomes.values.filter(\.isDelivered).count
        start = ContinuousClock.now
        let summary = try await relay.fetchAll(Filter(authors: authors)) { _, _ in }
        row.fetchSeconds = (ContinuousClock.now - start) / .seconds(1)
        row.fetched = summary.events
        row.clientCPU = ProcessCPU.ownSeconds() - cpu0
        row.relayCPU = ProcessCPU.groupSeconds(peer.pid) - relay0
        return row
    }
}

func reference(_ flavor: TestRelay.Flavor, _ events: [Event], authors: [String]) async throws -> Row {
    try await TestRelay.with(flavor) { peer in
        var row = Row(client: "nostr-sdk 0.45", relay: flavor.rawValue)
        let cpu0 = ProcessCPU.reapedChildrenSeconds(), relay0 = ProcessCPU.groupSeconds(peer.pid)
        let published = try NostrSDKTool.publish(events.map(\.rawJSON), to: peer.url)
        row.published = published.accepted
        row.publishSeconds = published.seconds
        let filter = #"{"authors":[\#(authors.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        let fetched = try NostrSDKTool.fetch(peer.url, filterJSON: filter)
        row.fetched = fetched.count
        row.fetchSeconds = fetched.seconds
        row.clientCPU = ProcessCPU.reapedChildrenSeconds() - cpu0
        row.relayCPU = ProcessCPU.groupSeconds(peer.pid) - relay0
        return row
    }
}

for flavor in [TestRelay.Flavor.localRelay, .nostrRelay] {
    let n = counts[flavor]!
    let now = Int64(Date().timeIntervalSince1970)
    let events = SampleEvents.make(count: n, authors: 20, end: now - 60, span: 200 * 86_400)
    let authors = Array(Set(events.map(\.pubkey)))
    rows.append(try await ours(flavor, events, authors: authors))
    rows.append(try await reference(flavor, events, authors: authors))
}

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
print("bench-relay: same events through each client into a fresh relay; fetch = every stored event of their authors")
print("client          relay       publish ev/s  (ok/sent)     fetch ev/s  (got)   client CPU s  relay CPU s")
for r in rows {
    let sent = counts[r.relay == TestRelay.Flavor.localRelay.rawValue ? .localRelay : .nostrRelay]!
    print([
        r.client.padding(toLength: 15, withPad: " ", startingAt: 0),
        r.relay.padding(toLength: 11, withPad: " ", startingAt: 0),
        f(Double(r.published) / r.publishSeconds).leftPad(12), "(\(r.published)/\(sent))".leftPad(13),
        f(Double(r.fetched) / r.fetchSeconds).leftPad(14), "(\(r.fetched))".leftPad(7),
        f(r.clientCPU, 2).leftPad(14), f(r.relayCPU, 2).leftPad(12),
    ].joined(separator: " "))
}
print("nostr-sdk's fetch is one REQ: LocalRelay caps every REQ at 500 events, so it cannot get more; RelaySync pages past the cap.")
print("client CPU: RelaySync's is this process; nostr-sdk's is its Python process, start-up included.")

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
