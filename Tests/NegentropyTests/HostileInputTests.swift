import Foundation
import Testing

@testable import Negentropy

/// Messages from a hostile or broken peer: each must give a NegentropyError
/// (never a trap), promptly, without trusting sizes the message merely claims.
@Suite struct HostileInputTests {
    static let storage: NegentropyStorage = {
        var generator = SeededGenerator(seed: 42)
        return NegentropyStorage(
            items: (0..<300).map { _ in
                NegentropyItem(timestamp: 1_000 + generator.next() % 20, id: .random(using: &generator))
            })
    }()

    static func responderError(_ message: [UInt8]) -> NegentropyError? {
        do {
            var responder = try NegentropyResponder(storage: storage)
            _ = try responder.reconcile(message)
            return nil
        } catch {
            return error
        }
    }

    static func initiatorError(_ message: [UInt8]) -> NegentropyError? {
        do {
            var initiator = try NegentropyInitiator(storage: storage)
            _ = try initiator.initiate()
            _ = try initiator.reconcile(message)
            return nil
        } catch {
            return error
        }
    }

    static let id32 = [UInt8](repeating: 0xAB, count: 32)

    /// Each is malformed for both roles.
    static let malformed: [(String, [UInt8])] = [
        ("empty message", []),
        ("version byte out of range", [0x50]),
        ("truncated timestamp varint", [0x61, 0x81]),
        ("varint over 64 bits", [0x61] + [UInt8](repeating: 0xFF, count: 10) + [0x7F, 0x00, 0x00]),
        ("id prefix longer than 32", [0x61, 0x00, 0x21] + [UInt8](repeating: 0, count: 33) + [0x00]),
        ("id prefix cut off", [0x61, 0x00, 0x05, 0x01, 0x02]),
        ("missing mode", [0x61, 0x00, 0x00]),
        ("unknown mode", [0x61, 0x00, 0x00, 0x03]),
        ("huge mode", [0x61, 0x00, 0x00, 0xFF, 0xFF, 0x7F]),
        ("truncated fingerprint", [0x61, 0x00, 0x00, 0x01] + [UInt8](repeating: 7, count: 10)),
        ("id count beyond the bytes present", [0x61, 0x00, 0x00, 0x02, 0x02] + id32 + [0x01]),
        ("id count near 2^63", [0x61, 0x00, 0x00, 0x02, 0xC0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        // (ts 0, prefix ff) then (ts 0, prefix 00): same timestamp, lower id.
        ("bounds going backwards", [0x61, 0x01, 0x01, 0xFF, 0x00, 0x01, 0x01, 0x00, 0x00]),
        ("range after infinity", [0x61, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        ("trailing partial range", [0x61, 0x00, 0x00, 0x00, 0x05]),
    ]

    @Test(arguments: malformed) func malformedMessagesAreRejected(name: String, message: [UInt8]) {
        for error in [Self.responderError(message), Self.initiatorError(message)] {
            guard let error else {
                Issue.record("\(name): accepted")
                continue
            }
            guard case .malformedMessage = error.kind else {
                Issue.record("\(name): wrong error \(error)")
                continue
            }
            #expect(!error.isUnsupportedVersion)
            #expect(error.description.hasPrefix("Malformed negentropy message at byte "))
        }
    }

    @Test func otherProtocolVersions() throws {
        for version: UInt8 in [0x60, 0x62, 0x6F] {
            var responder = try NegentropyResponder(storage: Self.storage)
            // NIP-77: the responder answers with the version it supports.
            #expect(try responder.reconcile([version, 0x00, 0x00, 0x01]) == [0x61])
            let error = try #require(Self.initiatorError([version]))
            #expect(error.isUnsupportedVersion)
            #expect(error.unsupportedVersionByte == version)
            #expect(error == NegentropyError(.unsupportedProtocolVersion(version)))
            print(error.description)
        }
        // A bare version byte is a valid message with no ranges.
        var responder = try NegentropyResponder(storage: Self.storage)
        #expect(try responder.reconcile([0x61]) == [0x61])
        var initiator = try NegentropyInitiator(storage: Self.storage)
        _ = try initiator.initiate()
        #expect(try initiator.reconcile([0x61]).next == nil)
    }

    @Test func misuseIsReported() throws {
        for limit in [-1, 1, 4095] {
            #expect(throws: NegentropyError(.frameSizeLimitTooSmall(limit))) {
                try NegentropyInitiator(storage: Self.storage, frameSizeLimit: limit)
            }
            #expect(throws: NegentropyError(.frameSizeLimitTooSmall(limit))) {
                try NegentropyResponder(storage: Self.storage, frameSizeLimit: limit)
            }
        }
        _ = try NegentropyResponder(storage: Self.storage, frameSizeLimit: 4096)

        var initiator = try NegentropyInitiator(storage: Self.storage)
        #expect(throws: NegentropyError(.notInitiated)) { try initiator.reconcile([0x61]) }
        _ = try initiator.initiate()
        #expect(throws: NegentropyError(.alreadyInitiated)) { try initiator.initiate() }
        for error in [
            NegentropyError(.notInitiated), NegentropyError(.alreadyInitiated),
            NegentropyError(.frameSizeLimitTooSmall(10)),
        ] {
            #expect(error.description.hasSuffix("."))
            print(error.description)
        }
    }

    /// Thousands of random and mutated messages into both roles, with and
    /// without a frame size limit.
    @Test func fuzz() throws {
        let seed = TestSeed.make("fuzz")
        var generator = SeededGenerator(seed: seed)
        let corpus = try Self.validMessages(using: &generator)
        let limits = [0, 4096]
        var responders = try limits.map { try NegentropyResponder(storage: Self.storage, frameSizeLimit: $0) }
        var initiators = try limits.map { limit -> NegentropyInitiator in
            var initiator = try NegentropyInitiator(storage: Self.storage, frameSizeLimit: limit)
            _ = try initiator.initiate()
            return initiator
        }

        let clock = ContinuousClock()
        var slowest = Duration.zero
        var accepted = 0
        var rejected = 0
        let iterations = 3_000
        for iteration in 0..<iterations {
            let message = Self.mutate(corpus, using: &generator)
            for (index, limit) in limits.enumerated() {
                let start = clock.now
                do {
                    let reply = try responders[index].reconcile(message)
                    if limit != 0 { #expect(reply.count <= limit) }
                    accepted += 1
                } catch {
                    _ = error.description
                    rejected += 1
                }
                do {
                    let step = try initiators[index].reconcile(message)
                    if limit != 0, let next = step.next { #expect(next.count <= limit) }
                    accepted += 1
                } catch {
                    _ = error.description
                    rejected += 1
                }
                let elapsed = clock.now - start
                slowest = max(slowest, elapsed)
                if elapsed > .seconds(1) {
                    Issue.record("iteration \(iteration) took \(elapsed): \(NegentropyHex.encode(message))")
                }
            }
        }
        print("[fuzz] \(iterations) messages: \(accepted) calls answered, \(rejected) rejected, slowest call pair \(slowest)")
        #expect(accepted > 0 && rejected > 0)
    }

    /// Real messages from sessions against this storage, for mutation.
    static func validMessages(using generator: inout SeededGenerator) throws -> [[UInt8]] {
        var corpus: [[UInt8]] = []
        let base = storage.items
        for limit in [0, 4096] {
            let other = NegentropyStorage(
                items: base.filter { _ in generator.next() % 4 != 0 }
                    + (0..<200).map { _ in
                        NegentropyItem(timestamp: 1_000 + generator.next() % 20, id: .random(using: &generator))
                    })
            var initiator = try NegentropyInitiator(storage: other, frameSizeLimit: limit)
            var responder = try NegentropyResponder(storage: storage, frameSizeLimit: limit)
            var message = try initiator.initiate()
            for _ in 0..<50 {
                corpus.append(message)
                let reply = try responder.reconcile(message)
                corpus.append(reply)
                guard let next = try initiator.reconcile(reply).next else { break }
                message = next
            }
        }
        return corpus
    }

    static func mutate(_ corpus: [[UInt8]], using generator: inout SeededGenerator) -> [UInt8] {
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(max(1, bound))) }
        if random(3) == 0 {
            return structuredMessage(using: &generator)
        }
        var message = corpus[random(corpus.count)]
        let rounds = 1 + random(2)
        for _ in 0..<rounds {
            switch random(11) {
            case 0 where !message.isEmpty:  // flip a bit
                message[random(message.count)] ^= 1 << UInt8(random(8))
            case 1 where !message.isEmpty:  // overwrite with an interesting byte
                message[random(message.count)] = [0x00, 0x01, 0x02, 0x03, 0x20, 0x21, 0x7F, 0x80, 0xFF][random(9)]
            case 2:  // insert random bytes
                let insert = (0..<(1 + random(8))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                message.insert(contentsOf: insert, at: random(message.count + 1))
            case 3 where !message.isEmpty:  // delete a run
                let start = random(message.count)
                message.removeSubrange(start..<min(message.count, start + 1 + random(40)))
            case 4:  // truncate
                message = Array(message.prefix(random(message.count + 1)))
            case 5:  // splice two messages
                let other = corpus[random(corpus.count)]
                message = Array(message.prefix(random(message.count + 1))) + other.suffix(random(other.count + 1))
            case 6:  // a long varint: continuation bytes, maybe overflowing
                let run = [UInt8](repeating: [0x80, 0xFF][random(2)], count: 1 + random(20)) + [UInt8(random(128))]
                message.insert(contentsOf: run, at: random(message.count + 1))
            case 7:  // garbage appended
                message += (0..<(1 + random(64))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            case 8:  // pure noise behind a valid version byte
                message = [0x61] + (0..<random(200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            case 9:  // an id list claiming many ids
                message += [0x00, 0x00, 0x02, 0x8F, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0x11, count: random(100))
            default:  // a far-off timestamp delta
                message.insert(contentsOf: [0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], at: min(1, message.count))
            }
        }
        return message
    }

    /// Well-formed messages with arbitrary content: ascending bounds near the
    /// storage's timestamps, any prefix length, random fingerprints and id
    /// lists (sometimes of ids we hold). These reach the deeper paths that
    /// byte mutations mostly stop short of.
    static func structuredMessage(using generator: inout SeededGenerator) -> [UInt8] {
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(max(1, bound))) }
        var message: [UInt8] = [0x61]
        var encoder = BoundEncoder()
        let bounds =
            (0..<random(40)).map { _ -> Bound in
                let length = [0, 0, 1, 2, 32][random(5)]
                var raw = [UInt8](repeating: 0, count: 32)
                for position in 0..<length { raw[position] = UInt8(truncatingIfNeeded: generator.next()) }
                return Bound(timestamp: 990 + UInt64(random(40)), id: NegentropyID(bytes: raw)!, idLength: length)
            }.sorted { $0 < $1 } + (random(2) == 0 ? [Bound.infinity] : [])
        for bound in bounds {
            encoder.append(bound, to: &message)
            switch random(3) {
            case 0:
                Varint.append(0, to: &message)
            case 1:
                Varint.append(1, to: &message)
                message += (0..<16).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            default:
                Varint.append(2, to: &message)
                let count = random(40)
                Varint.append(UInt64(count), to: &message)
                for _ in 0..<count {
                    let id =
                        random(2) == 0
                        ? storage.items[random(storage.count)].id
                        : NegentropyID.random(using: &generator)
                    id.append(to: &message, count: 32)
                }
            }
        }
        return message
    }
}
