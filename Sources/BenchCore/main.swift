import CSecp256k1
import Foundation
import NostrCore
import PeerHarness

// scripts/bench-core: the full receive path (parse JSON text, canonical serialization, SHA-256,
// id check, signature verify) against bare secp256k1_schnorrsig_verify on the same signatures
// with pre-parsed keys, both on one core, in one run. Goal: full >= 85% of bare.

let count = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20_000
let rounds = 3
let events = SampleEvents.make(count: count, end: 1_764_000_000)
let texts = events.map(\.rawJSON)
let bytes = texts.reduce(0) { $0 + $1.utf8.count }

// Bare: what libsecp256k1 alone costs, keys parsed beforehand, digests known.
let ctx = secp256k1_context_create(UInt32(1))!
var parsedKeys: [String: secp256k1_xonly_pubkey] = [:]
var bare: [(sig: [UInt8], msg: [UInt8], key: secp256k1_xonly_pubkey)] = []
for e in events {
    if parsedKeys[e.pubkey] == nil {
        var k = secp256k1_xonly_pubkey()
        precondition(secp256k1_xonly_pubkey_parse(ctx, &k, Hex.decode(e.pubkey)!) == 1)
        parsedKeys[e.pubkey] = k
    }
    bare.append((Hex.decode(e.sig)!, Hex.decode(e.id)!, parsedKeys[e.pubkey]!))
}

func timed(_ body: () -> Int) -> Double {
    let start = ContinuousClock.now
    let ok = body()
    precondition(ok == count, "only \(ok) of \(count) verified")
    return (ContinuousClock.now - start) / .seconds(1)
}

func measure(_ body: () -> Int) -> Double {
    Double(count) / (0..<rounds).map { _ in timed(body) }.min()!
}

if ProcessInfo.processInfo.environment["BENCH_CORE_PROFILE"] != nil {
    // For a profiler: the full path alone, many times.
    for _ in 0..<10 { for t in texts { precondition((try? Event(json: t))?.verify() == .valid) } }
    exit(0)
}
// Rounds alternate between the two so that the machine's other load hits both alike.
var bareBest = Double.infinity, fullBest = Double.infinity
for _ in 0..<rounds + 2 {
    bareBest = min(
        bareBest,
        timed {
            var ok = 0
            for i in 0..<bare.count {
                var key = bare[i].key
                if secp256k1_schnorrsig_verify(ctx, bare[i].sig, bare[i].msg, 32, &key) == 1 { ok += 1 }
            }
            return ok
        })
    fullBest = min(
        fullBest,
        timed {
            var ok = 0
            for t in texts {
                if let e = try? Event(json: t), e.verify() == .valid { ok += 1 }
            }
            return ok
        })
}
let bareRate = Double(count) / bareBest, fullRate = Double(count) / fullBest
let parseRate = measure {
    var ok = 0
    for t in texts where (try? Event(json: t)) != nil { ok += 1 }
    return ok
}
// Both cores: the verify context is shared, as in the agent.
let cores = ProcessInfo.processInfo.activeProcessorCount
let parallelRate: Double = {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        let chunk = (texts.count + cores - 1) / cores
        DispatchQueue.concurrentPerform(iterations: cores) { c in
            for t in texts[min(c * chunk, texts.count)..<min((c + 1) * chunk, texts.count)] {
                precondition((try? Event(json: t))?.verify() == .valid)
            }
        }
        best = min(best, (ContinuousClock.now - start) / .seconds(1))
    }
    return Double(count) / best
}()

func fmt(_ x: Double) -> String { String(format: "%.0f", x) }
print("bench-core: \(count) realistic events (\(bytes / count) bytes average, \(parsedKeys.count) authors), best of \(rounds + 2) alternating rounds")
print("  bare secp256k1_schnorrsig_verify (keys pre-parsed): \(fmt(bareRate)) verifies/s  (\(String(format: "%.1f", 1e6 / bareRate)) µs each)")
print("  full path: parse + canonical serialize + SHA-256 + id + verify: \(fmt(fullRate)) events/s  (\(String(format: "%.1f", 1e6 / fullRate)) µs each)")
print("  ratio full / bare: \(String(format: "%.1f", 100 * fullRate / bareRate))%  (goal >= 85%)")
print("  parse alone: \(fmt(parseRate)) events/s, \(String(format: "%.0f", Double(bytes) * parseRate / Double(count) / 1e6)) MB/s")
print("  full path on \(cores) cores: \(fmt(parallelRate)) events/s")
