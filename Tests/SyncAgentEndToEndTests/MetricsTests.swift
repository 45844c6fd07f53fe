import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `/metrics` and `/healthz` of a running daemon, fetched with curl and read with the reference
/// Prometheus parser, against real relays.
@Suite(.serialized) struct MetricsTests {
    struct Scrape {
        var families: [String: String]
        var samples: [(name: String, labels: [String: String], value: Double)]

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }?.value
        }
    }

    static func curl(_ url: String) throws -> (status: Int, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-m", "10", "-w", "\n%{http_code}", url]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let split = text.range(of: "\n", options: .backwards)!
        return (Int(text[split.upperBound...]) ?? 0, String(text[..<split.lowerBound]))
    }

    static func parse(_ exposition: String) throws -> Scrape {
        let p = Process()
        p.executableURL = try PeerEnvironment.venv().appendingPathComponent("bin/python")
        p.arguments = [PeerEnvironment.repoRoot().appendingPathComponent("scripts/peers/prom_parse.py").path]
        let input = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardOutput = out
        p.standardError = err
        try p.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw FixtureError("the Prometheus parser refused the exposition: \(problem)") }
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let samples = (object["samples"] as! [[Any]]).map { ($0[0] as! String, $0[1] as! [String: String], ($0[2] as! NSNumber).doubleValue) }
        return Scrape(families: object["families"] as! [String: String], samples: samples)
    }

    @Test func aRunningDaemonServesMetricsAndHealth() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        let backup = try await TestRelay.start(.localRelay)
        defer { primary.stopNow(); backup.stopNow() }
        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let stored = try AgentFixture.notes(alice, count: 40, start: now - 4_000)
        try await AgentFixture.seed(stored, into: primary.url)
        let port = try FreePort.pick()
        let config = try f.configuration(
            pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)], archive: true,
            reconcileInterval: "2s", extra: [("metrics", .object([("listen", .string("127.0.0.1:\(port)"))]))])
        let agent = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger, metrics: AgentMetrics(version: "9.9.9", commit: "abc1234"))
        let daemon = Task { try await agent.runDaemon() }
        defer { daemon.cancel() }
        #expect(try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]).count == 40 })
        // Published while the daemon follows the primary live: their propagation is timed.
        #expect(try await AgentFixture.waitFor(seconds: 30) { (try? Self.curl("http://127.0.0.1:\(port)/healthz").status) == 200 })
        let live = try AgentFixture.notes(alice, count: 5, start: now)
        try await AgentFixture.seed(live, into: primary.url)
        #expect(try await AgentFixture.waitFor(seconds: 30) { try await AgentFixture.ids(on: backup.url, authors: [alice.publicKey]).count == 45 })

        var scrape = Scrape(families: [:], samples: [])
        let settled = try await AgentFixture.waitFor(seconds: 30) {
            scrape = try Self.parse(try Self.curl("http://127.0.0.1:\(port)/metrics").body)
            return scrape.value("relaysync_deliveries_pending", ["relay": backup.url.normalized]) == 0
                && scrape.value("relaysync_archived_events_total") == 45
                && scrape.value("relaysync_reconciliations_total", ["relay": backup.url.normalized]) != nil
        }
        #expect(settled, "\(scrape.samples.map { "\($0.name) \($0.labels) \($0.value)" }.joined(separator: "\n"))")
        #expect(scrape.value("relaysync_events_new_total", ["relay": primary.url.normalized]) == 45)
        #expect(scrape.value("relaysync_deliveries_total", ["relay": backup.url.normalized, "outcome": "delivered"]) == 45)
        #expect(scrape.value("relaysync_delivery_oldest_pending_age_seconds", ["relay": backup.url.normalized]) == 0)
        #expect(scrape.value("relaysync_relay_connected", ["relay": backup.url.normalized]) == 1)
        #expect(scrape.value("relaysync_events_invalid_total", ["relay": primary.url.normalized]) == 0)
        #expect(scrape.value("relaysync_ledger_events") == 45)
        #expect((scrape.value("relaysync_archive_bytes") ?? 0) > 0)
        #expect(scrape.value("relaysync_build_info", ["version": "9.9.9", "commit": "abc1234"]) == 1)
        #expect(scrape.value("relaysync_agent_info", ["agent_id": AgentIdentity.current.id, "host": AgentIdentity.current.host]) == 1)
        #expect((scrape.value("relaysync_req_to_eose_seconds_count", ["relay": primary.url.normalized]) ?? 0) >= 1)
        #expect((scrape.value("relaysync_event_to_ok_seconds_count", ["relay": backup.url.normalized]) ?? 0) >= 45)
        #expect((scrape.value("relaysync_live_propagation_seconds_count", ["relay": backup.url.normalized]) ?? 0) >= 1)
        // Prometheus' naming: a prefix, counters in _total, durations in _seconds.
        for (name, type) in scrape.families {
            #expect(name.hasPrefix("relaysync_"))
            if type == "histogram" { #expect(name.hasSuffix("_seconds"), "\(name)") }
        }
        #expect(scrape.samples.filter { $0.name.hasSuffix("_total") }.allSatisfy { scrape.families[String($0.name.dropLast(6))] == "counter" })

        let health = try Self.curl("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200)
        let body = try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any]
        #expect(body?["status"] as? String == "ok", "\(health.body)")
        #expect(try Self.curl("http://127.0.0.1:\(port)/nothing").status == 404)

        // A backup that goes away is worth a warning, not a failed health check.
        backup.stopNow()
        let warned = try await AgentFixture.waitFor(seconds: 15) {
            (try? Self.curl("http://127.0.0.1:\(port)/healthz").body.contains("relay not connected: \(backup.url)")) ?? false
        }
        #expect(warned)
        daemon.cancel()
        _ = await daemon.result
    }

    @Test func healthNamesEveryProblem() {
        let ok = HealthReport.make(stoppedServices: [], ledgerError: nil, disconnectedRelays: ["ws://b"])
        #expect(ok.healthy && ok.status == "ok" && ok.warnings == ["relay not connected: ws://b"])
        let bad = HealthReport.make(stoppedServices: ["delivery to ws://b", "archive"], ledgerError: "disk full", disconnectedRelays: [])
        #expect(!bad.healthy && bad.status == "unhealthy")
        #expect(bad.problems == ["service not running: archive", "service not running: delivery to ws://b", "ledger not writable: disk full"])
    }
}
