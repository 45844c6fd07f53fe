import Foundation
import Ledger
import Media
import NIOPosix
import NostrCore
import PeerHarness
import Testing

/// The worker over a real ledger, real test Blossom servers and nginx: references found in
/// recorded events, blobs fetched (with fallbacks), verified, kept and mirrored to two backup
/// servers, one that answers /mirror and one that only takes /upload; bad blobs reported with
/// their reasons; a second run fetches nothing again.
@Suite(.enabled(if: venvAvailable && MediaPeer.nginxInstalled, "needs the test-peer virtual environment and nginx-light"))
struct MediaWorkerTests {
    @Test func fetchesVerifiesKeepsAndMirrorsWithFallbacks() async throws {
        let nginx = try await MediaPeer.start(.nginx)
        defer { nginx.stop() }
        let authorServer = try await MediaPeer.start(.blossom(arguments: []))
        defer { authorServer.stop() }
        let configuredSource = try await MediaPeer.start(.blossom(arguments: []))
        defer { configuredSource.stop() }
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let backupMirror = try await MediaPeer.start(.blossom(arguments: []))
        defer { backupMirror.stop() }
        let backupUpload = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
        defer { backupUpload.stop() }

        let ledger = try Ledger.temporary()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let author = SecretKey.generate()
        let agentKey = SecretKey.generate()

        // 12 good blobs on nginx (two referenced twice), 3 only on the author's BUD-03 server,
        // 2 only on a configured source, one wrong, one oversize, one behind a private redirect.
        var good: [Data] = (0..<17).map { randomBlob(1000 + $0 * 3000) }
        var events: [Event] = []
        var t: Int64 = 1_700_000_000
        func note(_ content: String, tags: [[String]] = []) throws {
            t += 1
            events.append(try author.sign(kind: 1, content: content, tags: tags, createdAt: t))
        }
        for (i, d) in good.enumerated() {
            let h = sha256Hex(d)
            switch i {
            case 0..<12:
                try nginx.put(d, as: "\(h).jpg")
                try note("pic \(nginx.url)/\(h).jpg", tags: [["imeta", "url \(nginx.url)/\(h).jpg", "x \(h)", "m image/jpeg"]])
                if i < 2 { try note("again \(nginx.url)/\(h).jpg") }
            case 12..<15:
                try uploadDirect(d, to: authorServer, key: author)
                try note("gone https://dead.invalid/\(h).png")
            default:
                try uploadDirect(d, to: configuredSource, key: author)
                try note("", tags: [["imeta", "x \(h)"]])
            }
        }
        events.append(try author.sign(kind: 10063, content: "", tags: [["server", authorServer.url]], createdAt: t + 1))
        let wrongHash = String(repeating: "a", count: 64)
        try note("wrong \(hostile.url)/wrong/\(wrongHash).png")
        let big = randomBlob(300_000)
        let bigHash = sha256Hex(big)
        try nginx.put(big, as: "\(bigHash).mp4")
        try note("big \(nginx.url)/\(bigHash).mp4")
        let privateHash = String(repeating: "b", count: 64)
        let to = "http://169.254.169.254/\(privateHash)".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        try note("sneaky \(hostile.url)/redirect/\(privateHash)?to=\(to)")
        _ = try await ledger.record(events.map { ObservedEvent(event: $0, relay: "ws://test") }, writableRelays: [], now: 1)

        var c = MediaConfiguration(directory: dir.path, backupServers: [backupMirror.url, backupUpload.url], sources: [configuredSource.url])
        c.maxBlobBytes = 200_000
        // Also the uploads' bound: 10 s was too little for the Python Blossom servers at load 10 (two
        // of 17 uploads ran out and waited for a retry). Nothing here is meant to time out.
        c.fetchTimeout = .seconds(60)
        // Every server here is on loopback: the notes' hosts are trusted by origin for the test
        // except the redirect target, which is judged (169.254.169.254 is link-local).
        c.sources.append(contentsOf: [nginx.url, hostile.url, authorServer.url])
        let worker = try MediaWorker(configuration: c, ledger: ledger, group: MultiThreadedEventLoopGroup.singleton, key: agentKey, logger: testLogger)
        try await worker.using { try await $0.runUntilIdle() }

        let counts = try ledger.mediaCounts()
        #expect(counts.kept == 17, "\(counts)")
        #expect(counts.failedByReason["too large"] == 1, "\(counts)")
        #expect(counts.failedByReason["private address"] == 1, "\(counts)")
        // The wrong blob: a hash mismatch at its URL, 404 at every fallback: given up, with the reason.
        #expect(try ledger.blobState(wrongHash) == .failed)
        #expect(counts.failedByReason["hash mismatch"] == 1, "\(counts)")
        #expect(counts.failed == 3)
        #expect(try ledger.dueBlobs(now: Int64.max, limit: 10).isEmpty)
        for d in good {
            let h = BlobHash(sha256Hex(d))!
            #expect(try Data(contentsOf: worker.store.path(of: h)) == d)
            for server in [backupMirror, backupUpload] {
                let head = FreePort.httpGet(port: server.port, path: "/\(h.hex)")
                #expect(head?.hasPrefix("HTTP/1.0 200") == true || head?.hasPrefix("HTTP/1.1 200") == true, "\(h) on \(server.url)")
            }
        }
        #expect(counts.mirrors[backupMirror.url]?["present"] == 17)
        #expect(counts.mirrors[backupUpload.url]?["present"] == 17)
        let mirrorStats = FreePort.httpGet(port: backupMirror.port, path: "/_stats") ?? ""
        #expect(mirrorStats.contains("\"mirrors\": 17") || mirrorStats.contains("\"mirrors\": 1"), "\(mirrorStats)")
        let uploadStats = FreePort.httpGet(port: backupUpload.port, path: "/_stats") ?? ""
        #expect(uploadStats.contains("\"uploads\": 17"), "\(uploadStats)")
        #expect(partialFiles(worker.store).isEmpty)

        // A second worker on the same ledger and store fetches nothing again.
        func stats(_ peer: MediaPeer) -> String { String((FreePort.httpGet(port: peer.port, path: "/_stats") ?? "").split(separator: "\r\n\r\n").last ?? "") }
        let gets = stats(authorServer)
        let usedBefore = worker.store.usedBytes
        let again = try MediaWorker(configuration: c, ledger: ledger, group: MultiThreadedEventLoopGroup.singleton, key: agentKey, logger: testLogger)
        try await again.runUntilIdle()
        await again.shutdown()
        #expect(stats(authorServer) == gets)
        #expect(again.store.usedBytes == usedBefore)
        good.removeAll()
    }

    @Test func theDiskBudgetStopsFetchingWithAClearStatus() async throws {
        let source = try await MediaPeer.start(.blossom(arguments: []))
        defer { source.stop() }
        let ledger = try Ledger.temporary()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let author = SecretKey.generate()
        var events: [Event] = []
        for i in 0..<3 {
            let d = randomBlob(40_000)
            try uploadDirect(d, to: source, key: author)
            events.append(try author.sign(kind: 1, content: "\(source.url)/\(sha256Hex(d))", createdAt: 1_700_000_000 + Int64(i)))
        }
        _ = try await ledger.record(events.map { ObservedEvent(event: $0, relay: "ws://test") }, writableRelays: [], now: 1)
        var c = MediaConfiguration(directory: dir.path, sources: [source.url])
        c.maxTotalBytes = 100_000
        c.concurrentFetches = 1
        let worker = try MediaWorker(configuration: c, ledger: ledger, group: MultiThreadedEventLoopGroup.singleton, key: nil, logger: testLogger)
        try await worker.using { try await $0.runUntilIdle() }
        let counts = try ledger.mediaCounts()
        #expect(counts.kept == 2, "\(counts)")
        #expect(counts.pending == 1)
        #expect(counts.waitingByReason == ["disk budget reached": 1], "\(counts)")
        #expect(worker.store.usedBytes == 80_000)
        #expect(partialFiles(worker.store).isEmpty)
    }

    /// Seeds a blob on a test server (a file in its folder), as if its author had uploaded it.
    func uploadDirect(_ data: Data, to server: MediaPeer, key: SecretKey) throws {
        try data.write(to: server.directory.appendingPathComponent(sha256Hex(data)))
    }
}
