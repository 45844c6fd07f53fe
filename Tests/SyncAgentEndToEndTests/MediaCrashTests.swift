import Crypto
import Foundation
import Media
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// The daemon killed with SIGKILL ten times at seeded moments while it fetches blobs from a slowed
/// source and uploads them to a backup server: after every kill the store holds only whole,
/// verified blobs; at the end every blob is kept and on the backup; and no blob that was already
/// in the store was downloaded again.
@Suite(.serialized, .enabled(if: (try? PeerEnvironment.venv()) != nil, "needs the test-peer virtual environment"))
struct MediaCrashTests {
    @Test func killNineDuringFetchingAndMirroringLosesNothing() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let relay = try await TestRelay.start(.localRelay)
        defer { relay.stopNow() }
        // 2 MB/s per response: the 24 blobs take a few seconds, so kills land mid-fetch.
        let source = try await MediaPeer.start(.blossom(arguments: ["--rate", "2000000"]))
        defer { source.stop() }
        let backup = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
        defer { backup.stop() }

        let author = SecretKey.generate()
        var rng = SeededGenerator.fromEnvironment()
        var blobs: [String: Data] = [:]
        var events: [Event] = []
        for i in 0..<24 {
            let d = Data((0..<(60_000 + Int.random(in: 0...240_000, using: &rng))).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let h = SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined()
            blobs[h] = d
            try d.write(to: source.directory.appendingPathComponent(h))
            events.append(try author.sign(kind: 1, content: "pic \(source.url)/\(h).jpg", createdAt: 1_700_000_000 + Int64(i)))
        }
        try await AgentFixture.seed(events, into: relay.url)
        let keyFile = f.directory.appendingPathComponent("key")
        try SecretKey.generate().hex.write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        let media = JSONValue.object([
            ("directory", .string("media")), ("backup_servers", .array([.string(backup.url)])), ("sources", .array([.string(source.url)])),
            ("concurrent_fetches", .int(2)),
        ])
        _ = try f.configuration(
            pubkeys: [author.publicKey], relays: [(relay.url, .primary)], extra: [("media", media), ("secret_key_file", .string(keyFile.path))])
        let configPath = f.directory.appendingPathComponent("sync.json").path
        let store = f.directory.appendingPathComponent("media")
        let log = f.directory.appendingPathComponent("agent.log")

        func stored() -> [String] {
            var out: [String] = []
            for shard in (try? FileManager.default.contentsOfDirectory(atPath: store.path)) ?? [] where shard.count == 2 {
                out += (try? FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent(shard).path)) ?? []
            }
            return out
        }
        func stats(_ peer: MediaPeer) -> [String: Any] {
            let text = FreePort.httpGet(port: peer.port, path: "/_stats") ?? ""
            let body = text.components(separatedBy: "\r\n\r\n").last ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }
        func agentGets() -> [String: Int] {
            ((stats(source)["gets_by_agent"] as? [String: [String: Int]]) ?? [:])["relaysync-media"] ?? [:]
        }
        func progress() -> Int { stored().count + ((stats(backup)["uploads"] as? Int) ?? 0) }

        var keptAtKill: Set<String> = []
        var getsAtKill: [String: Int] = [:]
        func nothingFetchedAgain() {
            let gets = agentGets()
            for h in keptAtKill { #expect(gets[h] == getsAtKill[h], "\(h.prefix(12)) fetched again after it was stored") }
        }
        for _ in 0..<10 {
            let agent = try AgentProcess.start(["run", "--config", configPath, "--log-level", "warning"], logTo: log)
            // Each kill comes once a seeded number (0-6) of further blobs is stored or uploaded, or all are.
            let target = min(2 * blobs.count, progress() + Int.random(in: 0...6, using: &rng))
            #expect(try await Poll.until(timeout: .seconds(60), every: .milliseconds(10)) { progress() >= target })
            agent.signal(SIGKILL)
            #expect(await agent.waitForExit(timeout: .seconds(10)) != nil)
            nothingFetchedAgain()
            // Only whole, verified blobs under their names; a partial file may wait in .partial.
            let kept = stored()
            for name in kept {
                #expect(MediaWorker.sha256(ofFile: store.appendingPathComponent("\(name.prefix(2))/\(name)").path) == name)
            }
            keptAtKill = Set(kept)
            getsAtKill = agentGets()
        }
        let (status, output) = try await AgentProcess.run(["run", "--once", "--config", configPath], logTo: log, timeout: .seconds(60))
        #expect(status == 0, "\(output.suffix(2000))")
        nothingFetchedAgain()
        #expect(Set(stored()) == Set(blobs.keys))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent(".partial").path).isEmpty)
        #expect((stats(backup)["uploads"] as? Int ?? 0) >= blobs.count)
        let gets = agentGets()  // the agent has exited: read once, not once a blob
        for h in blobs.keys {
            #expect(Self.head(port: backup.port, path: "/\(h)")?.hasPrefix("HTTP/1.1 200") == true)
            #expect((gets[h] ?? 0) >= 1)
        }
    }

    /// The answer to a BUD-01 `HEAD /<sha256>`: the same status as a GET without reading every
    /// blob back, which took about half a second a blob on a loaded machine.
    static func head(port: Int, path: String) -> String? {
        FreePort.httpRequest("HEAD", port: port, path: path, timeoutSeconds: 5)
    }
}
