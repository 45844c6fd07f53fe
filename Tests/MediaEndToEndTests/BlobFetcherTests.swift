import Foundation
import Media
import NIOPosix
import PeerHarness
import Testing

/// The fetcher against real HTTP servers on loopback: nginx (a real server) for good bytes and
/// redirects, the scripted hostile source for what no real server does on purpose.
@Suite(.enabled(if: venvAvailable, "needs the test-peer virtual environment (scripts/bootstrap)"))
struct BlobFetcherTests {
    func withFetcher(
        _ configure: (inout MediaConfiguration) -> Void = { _ in }, peer: MediaPeer? = nil,
        _ body: (BlobFetcher, BlobStore) async throws -> Void
    ) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = MediaConfiguration(directory: dir.path)
        c.fetchTimeout = .seconds(10)
        if let peer { c.sources = [peer.url] }  // the operator's own source: trusted origin
        configure(&c)
        let store = try BlobStore(directory: c.directory)
        let fetcher = BlobFetcher(configuration: c, store: store, group: MultiThreadedEventLoopGroup.singleton, logger: testLogger)
        do {
            try await body(fetcher, store)
        } catch {
            await fetcher.shutdown()
            throw error
        }
        await fetcher.shutdown()
    }

    @Test(.enabled(if: MediaPeer.nginxInstalled, "needs Debian's nginx-light"))
    func keepsVerifiedBytesFromNginxThroughARedirect() async throws {
        let nginx = try await MediaPeer.start(.nginx)
        defer { nginx.stop() }
        let data = randomBlob(300_000)
        let hash = BlobHash(sha256Hex(data))!
        try nginx.put(data, as: "\(hash.hex).jpg")
        try await withFetcher({ $0.allowPrivateAddresses = true }) { fetcher, store in
            // nginx's own 302 (its rewrite ... redirect) is followed and judged.
            let result = await fetcher.fetch(hash, from: "\(nginx.url)/moved/\(hash.hex).jpg")
            let kept = try result.get()
            #expect(kept.size == Int64(data.count))
            #expect(kept.type == "image/jpeg")
            #expect(store.path(of: hash).path.hasSuffix("/\(hash.shard)/\(hash.hex)"))
            #expect(try Data(contentsOf: store.path(of: hash)) == data)
            #expect(partialFiles(store).isEmpty)
        }
    }

    @Test func wrongBytesAreNotKept() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let hash = BlobHash(String(repeating: "1", count: 64))!
        try await withFetcher(peer: hostile) { fetcher, store in
            let result = await fetcher.fetch(hash, from: "\(hostile.url)/wrong/\(hash.hex).png")
            #expect(result.failure?.kind == .hashMismatch)
            #expect(!store.contains(hash))
            #expect(partialFiles(store).isEmpty)
            #expect(store.usedBytes == 0)
        }
    }

    @Test func oversizeIsRefusedFromContentLengthAndWhileStreaming() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let hash = BlobHash(String(repeating: "2", count: 64))!
        try await withFetcher({ $0.maxBlobBytes = 1 << 20 }, peer: hostile) { fetcher, store in
            let started = ContinuousClock.now
            let huge = await fetcher.fetch(hash, from: "\(hostile.url)/huge/\(hash.hex)")
            #expect(huge.failure?.kind == .tooLarge)
            #expect(huge.failure?.detail.contains("Content-Length") == true)
            let endless = await fetcher.fetch(hash, from: "\(hostile.url)/endless/\(hash.hex)")
            #expect(endless.failure?.kind == .tooLarge)
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect(partialFiles(store).isEmpty)
            #expect(store.usedBytes == 0)
        }
    }

    @Test func aSlowDripTimesOut() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let hash = BlobHash(String(repeating: "3", count: 64))!
        try await withFetcher({ $0.fetchTimeout = .seconds(2) }, peer: hostile) { fetcher, store in
            let started = ContinuousClock.now
            let result = await fetcher.fetch(hash, from: "\(hostile.url)/slow/\(hash.hex)")
            #expect(result.failure?.kind == .timeout)
            #expect(ContinuousClock.now - started < .seconds(6))
            #expect(partialFiles(store).isEmpty)
        }
    }

    @Test func redirectsToPrivateAddressesAreRefusedAtTheHop() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let other = try await MediaPeer.start(.hostile)
        defer { other.stop() }
        let data = randomBlob(1000)
        let hash = BlobHash(sha256Hex(data))!
        try other.put(data, as: hash.hex)
        try await withFetcher(peer: hostile) { fetcher, store in
            for target in [
                "http://169.254.169.254/latest/meta-data/\(hash.hex)", "\(other.url)/good/\(hash.hex)", "http://[::1]:\(other.port)/good/\(hash.hex)",
            ] {
                let to = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let result = await fetcher.fetch(hash, from: "\(hostile.url)/redirect/\(hash.hex)?to=\(to)")
                #expect(result.failure?.kind == .privateAddress, "\(target)")
            }
            // The same URL given directly by a note is refused before any connection.
            let direct = await fetcher.fetch(hash, from: "\(other.url)/good/\(hash.hex)")
            #expect(direct.failure?.kind == .privateAddress)
            #expect(FreePort.httpGet(port: other.port, path: "/_stats")?.contains("/good/") == false)
            #expect(!store.contains(hash))
        }
    }

    @Test func redirectsAreBounded() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let data = randomBlob(5000)
        let hash = BlobHash(sha256Hex(data))!
        try hostile.put(data, as: hash.hex)
        try await withFetcher({ $0.maxRedirects = 3 }, peer: hostile) { fetcher, store in
            #expect(await fetcher.fetch(hash, from: "\(hostile.url)/hops/4/\(hash.hex)").failure?.kind == .tooManyRedirects)
            #expect(!store.contains(hash))
            let kept = try await fetcher.fetch(hash, from: "\(hostile.url)/hops/3/\(hash.hex)").get()
            #expect(kept.size == 5000)
            #expect(store.contains(hash))
        }
    }

    @Test func rateLimitingCarriesRetryAfter() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let data = randomBlob(2000)
        let hash = BlobHash(sha256Hex(data))!
        try hostile.put(data, as: hash.hex)
        try await withFetcher(peer: hostile) { fetcher, store in
            let first = await fetcher.fetch(hash, from: "\(hostile.url)/ratelimit/\(hash.hex)")
            #expect(first.failure?.kind == .rateLimited)
            #expect(first.failure?.retryAfter == .seconds(1))
            #expect(first.failure?.isRetryable == true)
            // The whole host is left alone until then: no request is made meanwhile.
            let other = await fetcher.fetch(hash, from: "\(hostile.url)/good/\(hash.hex)")
            #expect(other.failure?.kind == .rateLimited)
            #expect(FreePort.httpGet(port: hostile.port, path: "/_stats")?.contains("/good/") == false)
            // Once the second has passed, the same URL gives the blob (tries until then make no request).
            let kept = try await Poll.until(timeout: .seconds(5), every: .milliseconds(100)) {
                if case .success = await fetcher.fetch(hash, from: "\(hostile.url)/ratelimit/\(hash.hex)") { return true }
                return false
            }
            #expect(kept)
            #expect(store.size(of: hash) == 2000)
            #expect(FreePort.httpGet(port: hostile.port, path: "/_stats")?.contains("\"/ratelimit/\(hash.hex)\": 2") == true)
        }
    }

    @Test func theDiskBudgetStopsAFetch() async throws {
        let hostile = try await MediaPeer.start(.hostile)
        defer { hostile.stop() }
        let data = randomBlob(200_000)
        let hash = BlobHash(sha256Hex(data))!
        try hostile.put(data, as: hash.hex)
        try await withFetcher({ $0.maxTotalBytes = 100_000 }, peer: hostile) { fetcher, store in
            #expect(await fetcher.fetch(hash, from: "\(hostile.url)/good/\(hash.hex)").failure?.kind == .diskBudget)
            #expect(store.usedBytes == 0)
            #expect(partialFiles(store).isEmpty)
        }
    }

    @Test func onlyHTTPAndHTTPS() async throws {
        try await withFetcher { fetcher, _ in
            let hash = BlobHash(String(repeating: "4", count: 64))!
            #expect(await fetcher.fetch(hash, from: "file:///etc/passwd").failure?.kind == .badURL)
            #expect(await fetcher.fetch(hash, from: "http://user:pw@example.com/\(hash.hex)").failure?.kind == .badURL)
            #expect(await fetcher.fetch(hash, from: "http://localhost:1/\(hash.hex)").failure?.kind == .privateAddress)
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
