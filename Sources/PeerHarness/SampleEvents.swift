import Foundation
import NostrCore

/// Realistic signed events for benchmarks: mostly kind-1 notes of varied length and script,
/// with reactions, reposts, a few profiles and contact lists, from a set of authors.
/// Deterministic for a seed, so runs compare like with like.
public enum SampleEvents {
    private static let words = [
        "nostr", "relay", "zap", "note", "sats", "bitcoin", "lightning", "client", "key",
        "signal", "archive", "mirror", "gm", "pv", "thread", "reply", "https://example.com/a/b?c=d", "#nostr",
        "ünïcödé", "日本語のテキスト", "émoji 🚀🔥", "مرحبا بالعالم", "\"quoted\"", "back\\slash", "new\nline",
    ]

    /// `count` events by `authors` keys, `created_at` spread over the `span` seconds before `end`.
    public static func make(count: Int, authors: Int = 50, end: Int64, span: Int64 = 30 * 86_400, seed: UInt64 = 42) -> [Event] {
        make(count: count, keys: (0..<max(1, authors)).map { _ in SecretKey.generate() }, end: end, span: span, seed: seed)
    }

    /// `make` by these authors' keys (the same mix of kinds, lengths and dates for a seed), so that a
    /// benchmark can later sign more events as the same authors.
    public static func make(count: Int, keys: [SecretKey], end: Int64, span: Int64 = 30 * 86_400, seed: UInt64 = 42) -> [Event] {
        precondition(!keys.isEmpty, "SampleEvents.make needs at least one key")
        var rng = SeededGenerator(seed: seed)
        let someIDs = (0..<64).map { _ in hex64(&rng) }
        var out: [Event] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let key = keys[Int.random(in: 0..<keys.count, using: &rng)]
            let createdAt = end - span + Int64(i) * span / Int64(max(count, 1))
            let roll = Int.random(in: 0..<100, using: &rng)
            let event: Event
            switch roll {
            case 0..<70:
                let tags = noteTags(roll: roll, someIDs: someIDs, keys: keys, &rng)
                event = try! key.sign(kind: 1, content: note(&rng), tags: tags, createdAt: createdAt)
            case 70..<88:
                event = try! key.sign(
                    kind: 7, content: ["+", "🤙", "❤️"].randomElement(using: &rng)!,
                    tags: [["e", someIDs.randomElement(using: &rng)!], ["p", keys.randomElement(using: &rng)!.publicKey]], createdAt: createdAt)
            case 88..<96:
                event = try! key.sign(
                    kind: 6, content: "", tags: [["e", someIDs.randomElement(using: &rng)!, "wss://relay.example.com"]], createdAt: createdAt)
            case 96..<98:
                event = try! key.sign(
                    kind: 0,
                    content: #"{"name":"user \#(i)","about":"writes about \#(words.randomElement(using: &rng)!)","picture":"https://example.com/p/\#(i).png"}"#,
                    createdAt: createdAt)
            default:
                let follows = (0..<Int.random(in: 20..<300, using: &rng)).map { _ in ["p", hex64(&rng)] }
                event = try! key.sign(kind: 3, content: "", tags: follows, createdAt: createdAt)
            }
            out.append(event)
        }
        return out
    }

    /// `count` kind-1 notes by these keys, each dated at a time `dates` picks (for example inside a
    /// range already backed up: a backdated import).
    public static func notes(count: Int, keys: [SecretKey], seed: UInt64, dates: (inout SeededGenerator) -> Int64) -> [Event] {
        var rng = SeededGenerator(seed: seed)
        let someIDs = (0..<64).map { _ in hex64(&rng) }
        return (0..<count).map { _ in
            let key = keys[Int.random(in: 0..<keys.count, using: &rng)]
            let roll = Int.random(in: 0..<70, using: &rng)
            let tags = noteTags(roll: roll, someIDs: someIDs, keys: keys, &rng)
            let content = note(&rng)
            return try! key.sign(kind: 1, content: content, tags: tags, createdAt: dates(&rng))
        }
    }

    private static func note(_ rng: inout SeededGenerator) -> String {
        let length = [3, 8, 20, 60, 150].randomElement(using: &rng)!
        return (0..<length).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
    }

    private static func noteTags(roll: Int, someIDs: [String], keys: [SecretKey], _ rng: inout SeededGenerator) -> [[String]] {
        var tags: [[String]] = [["t", words[Int.random(in: 0..<12, using: &rng)]]]
        if roll % 3 == 0 {
            tags.append(["e", someIDs.randomElement(using: &rng)!, "", "reply"])
            tags.append(["p", keys.randomElement(using: &rng)!.publicKey])
        }
        return tags
    }

    private static func hex64(_ rng: inout SeededGenerator) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<64).map { _ in digits[Int(rng.next() & 15)] })
    }
}

/// SplitMix64: small, fast, reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// Seeded from `RELAYSYNC_TEST_SEED` when set, else at random; the seed is printed with the
    /// caller's name, so a failing random run can be replayed (`scripts/soak` looks for this line).
    public static func fromEnvironment(_ function: String = #function) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["RELAYSYNC_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("\(function): RELAYSYNC_TEST_SEED=\(seed)")
        return SeededGenerator(seed: seed)
    }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
