import Archive
import Foundation
import NostrCore
import PeerHarness

// scripts/bench-archive: ArchiveWriter throughput on one core and its compressed size, beside
// the same JSONL compressed by the zstd command-line tool at the same level, in one run.
// Goals: size within 5% of zstd's; at least 50,000 events/s.

let count = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 100_000
let level = 3
let events = SampleEvents.make(count: count, end: 1_764_000_000)
let jsonl = events.map { $0.rawJSON + "\n" }.joined()
let rawBytes = jsonl.utf8.count
let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-bench-archive-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

func fileSize(_ url: URL) -> Int { (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }

// The agent's way: append each event, a zstd frame per 1,000 lines, fsync at seal.
var best = Double.infinity
var compressed = 0
for round in 0..<3 {
    let dir = work.appendingPathComponent("round\(round)")
    var config = ArchiveConfiguration(directory: dir)
    config.compressionLevel = level
    let start = ContinuousClock.now
    let writer = try ArchiveWriter(configuration: config)
    for e in events { try writer.append(e) }
    try writer.close()
    best = min(best, (ContinuousClock.now - start) / .seconds(1))
    compressed = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).map(fileSize).reduce(0, +)
}

// The reference: the same bytes through `zstd -3` (one stream, no frame per flush).
let plain = work.appendingPathComponent("events.jsonl")
try jsonl.write(to: plain, atomically: false, encoding: .utf8)
let cli = Process()
cli.executableURL = URL(fileURLWithPath: "/usr/bin/env")
cli.arguments = ["zstd", "-q", "-f", "-\(level)", plain.path, "-o", plain.path + ".zst"]
let cliStart = ContinuousClock.now
try cli.run()
cli.waitUntilExit()
let cliSeconds = (ContinuousClock.now - cliStart) / .seconds(1)
let cliSize = fileSize(URL(fileURLWithPath: plain.path + ".zst"))

// Reading back for restore and verify.
let segment = try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent("round0"), includingPropertiesForKeys: nil)[0]
let readStart = ContinuousClock.now
var lines = 0
try ArchiveReader(url: segment).forEachLine { _ in lines += 1 }
let readSeconds = (ContinuousClock.now - readStart) / .seconds(1)
precondition(lines == count)

func f(_ x: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", x) }
print("bench-archive: \(count) events, \(f(Double(rawBytes) / 1e6, 1)) MB of JSONL, zstd level \(level)")
print(
    "  ArchiveWriter: \(f(Double(count) / best)) events/s, \(f(Double(rawBytes) / best / 1e6)) MB/s uncompressed (best of 3, one core)  (goal >= 50,000 events/s)"
)
print("  size: \(compressed) bytes, ratio \(f(Double(rawBytes) / Double(compressed), 2))")
print(
    "  zstd -\(level) CLI: \(cliSize) bytes, ratio \(f(Double(rawBytes) / Double(cliSize), 2)), \(f(Double(rawBytes) / cliSeconds / 1e6)) MB/s including process start"
)
print("  size vs zstd CLI: \(f(100 * (Double(compressed) / Double(cliSize) - 1), 1))%  (goal within 5%)")
print("  ArchiveReader: \(f(Double(count) / readSeconds)) lines/s, \(f(Double(rawBytes) / readSeconds / 1e6)) MB/s")
