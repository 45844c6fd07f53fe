import Foundation
import Testing

@testable import Negentropy

/// Our initiator against our responder over seeded random sets; have/need must
/// equal the true set differences exactly. Set NEGENTROPY_SEED to replay.
@Suite struct ReconciliationTests {
    /// 0 = unlimited; 4096 is the smallest limit the protocol allows.
    static let limits = [0, 4096, 60_000]

    static func randomItems(
        _ count: Int,
        timestamps: ClosedRange<UInt64> = 1_600_000_000...1_700_000_000,
        using generator: inout SeededGenerator
    ) -> [NegentropyItem] {
        (0..<count).map { _ in
            NegentropyItem(timestamp: UInt64.random(in: timestamps, using: &generator), id: .random(using: &generator))
        }
    }

    static func report(_ label: String, _ outcome: SessionOutcome) {
        print(
            "[\(label)] rounds=\(outcome.rounds) have=\(outcome.have.count) need=\(outcome.need.count)"
                + " largest initiator/responder message=\(outcome.largestInitiatorMessage)/\(outcome.largestResponderMessage)"
        )
    }

    @Test(arguments: limits) func emptyAgainstEmpty(limit: Int) throws {
        let outcome = try expectExactReconciliation(client: [], server: [], clientLimit: limit, serverLimit: limit)
        #expect(outcome.rounds == 1)
    }

    @Test(arguments: limits) func emptyAgainstMany(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("emptyAgainstMany/\(limit)"))
        for count in [1, 31, 32, 1_000] {
            let items = Self.randomItems(count, using: &generator)
            let pulled = try expectExactReconciliation(client: [], server: items, clientLimit: limit, serverLimit: limit)
            let pushed = try expectExactReconciliation(client: items, server: [], clientLimit: limit, serverLimit: limit)
            Self.report("emptyAgainstMany/\(limit)/\(count) pull", pulled)
            Self.report("emptyAgainstMany/\(limit)/\(count) push", pushed)
        }
    }

    @Test(arguments: limits) func equalSets(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("equalSets/\(limit)"))
        for count in [1, 31, 32, 33, 5_000] {
            let items = Self.randomItems(count, using: &generator)
            let outcome = try expectExactReconciliation(
                client: items, server: items.shuffled(using: &generator), clientLimit: limit, serverLimit: limit)
            // One round trip: every fingerprint (or the one id list) matches.
            #expect(outcome.rounds == 1)
        }
    }

    @Test(arguments: limits) func disjointSets(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("disjointSets/\(limit)"))
        let outcome = try expectExactReconciliation(
            client: Self.randomItems(3_000, using: &generator),
            server: Self.randomItems(2_000, using: &generator),
            clientLimit: limit, serverLimit: limit)
        Self.report("disjointSets/\(limit)", outcome)
    }

    @Test(arguments: limits) func oneItemDiffers(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("oneItemDiffers/\(limit)"))
        let shared = Self.randomItems(10_000, using: &generator)
        let onlyClient = Self.randomItems(1, using: &generator)
        let onlyServer = Self.randomItems(1, using: &generator)
        for (client, server) in [
            (shared + onlyClient, shared),
            (shared, shared + onlyServer),
            (shared + onlyClient, shared + onlyServer),
        ] {
            let outcome = try expectExactReconciliation(
                client: client, server: server, clientLimit: limit, serverLimit: limit)
            Self.report("oneItemDiffers/\(limit)", outcome)
            #expect(outcome.rounds <= 5)
        }
    }

    /// Every record on one timestamp, so every bound needs an id prefix.
    @Test(arguments: limits) func manyItemsShareOneTimestamp(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("sharedTimestamp/\(limit)"))
        let sameTime = Self.randomItems(4_000, timestamps: 1_700_000_000...1_700_000_000, using: &generator)
        // Ids sharing a 24-byte prefix force long bound prefixes too. Their
        // tails are random: fingerprints add ids, so patterned tails (say
        // arithmetic progressions) let different sets of equal size have equal
        // sums, and the protocol would rightly see those ranges as equal.
        let lookalikes = (0..<200).map { _ -> NegentropyItem in
            var raw = sameTime[0].id.bytes
            withUnsafeBytes(of: generator.next()) { raw.replaceSubrange(24..<32, with: $0) }
            return NegentropyItem(timestamp: 1_700_000_000, id: NegentropyID(bytes: raw)!)
        }
        let all = sameTime + lookalikes
        let client = all.filter { _ in generator.next() % 10 != 0 }
        let server = all.filter { _ in generator.next() % 10 != 0 }
        let outcome = try expectExactReconciliation(
            client: client, server: server, clientLimit: limit, serverLimit: limit)
        Self.report("sharedTimestamp/\(limit)", outcome)

        // Timestamps 0 and 2^64-2 are the extremes a record may use.
        let edges = [
            NegentropyItem(timestamp: 0, id: .random(using: &generator)),
            NegentropyItem(timestamp: .max - 1, id: .random(using: &generator)),
        ]
        try expectExactReconciliation(
            client: client + edges, server: server, clientLimit: limit, serverLimit: limit)
        try expectExactReconciliation(
            client: client, server: server + edges, clientLimit: limit, serverLimit: limit)
    }

    /// Mixed limits: each side caps only what it writes.
    @Test func asymmetricLimits() throws {
        try Self.checkAsymmetricLimits(seed: TestSeed.make("asymmetricLimits"), label: "asymmetricLimits")
    }

    /// Regression seeds: when the initiator's frame overflowed, the reference
    /// way of closing the message (dropping the pending Skip, so the closing
    /// fingerprint reopened ranges already settled by id lists) made each of
    /// these runs report ids twice.
    @Test(arguments: [3, 4, 10] as [UInt64]) func overflowDoesNotReopenSettledRanges(seed: UInt64) throws {
        try Self.checkAsymmetricLimits(
            seed: seed, label: "overflow/\(seed)", limits: [(4096, 0), (4096, 60_000)])
    }

    static func checkAsymmetricLimits(
        seed: UInt64,
        label: String,
        limits: [(client: Int, server: Int)] = [(4096, 0), (0, 4096), (4096, 60_000)]
    ) throws {
        var generator = SeededGenerator(seed: seed)
        let shared = randomItems(8_000, using: &generator)
        let client = shared + randomItems(400, using: &generator)
        let server = shared + randomItems(600, using: &generator)
        for (clientLimit, serverLimit) in limits {
            let outcome = try expectExactReconciliation(
                client: client, server: server, clientLimit: clientLimit, serverLimit: serverLimit)
            report("\(label)/\(clientLimit)/\(serverLimit)", outcome)
        }
    }

    /// 100,000 records per side, about 1% of each side missing on the other.
    @Test(arguments: [0, 60_000, 4096]) func hundredThousandWithOnePercentDifferences(limit: Int) throws {
        var generator = SeededGenerator(seed: TestSeed.make("hundredThousand/\(limit)"))
        let clock = ContinuousClock()
        let start = clock.now
        let shared = Self.randomItems(99_000, using: &generator)
        let client = shared + Self.randomItems(1_000, using: &generator)
        let server = shared + Self.randomItems(1_000, using: &generator)
        let built = clock.now
        let outcome = try expectExactReconciliation(
            client: client, server: server, clientLimit: limit, serverLimit: limit)
        Self.report("hundredThousand/\(limit)", outcome)
        print("[hundredThousand/\(limit)] build \(built - start), sync \(clock.now - built)")
        #expect(outcome.have.count == 1_000 && outcome.need.count == 1_000)
    }
}
