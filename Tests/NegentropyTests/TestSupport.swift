import Foundation
import Testing

@testable import Negentropy

/// SplitMix64: tiny, fast and fully determined by its seed, so any failing
/// random run can be replayed exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum TestSeed {
    /// NEGENTROPY_SEED=<decimal or 0x-hex> replays a run; otherwise a fresh
    /// seed is drawn. Either way it is printed with the test's label.
    static func make(_ label: String) -> UInt64 {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment["NEGENTROPY_SEED"], let parsed = parse(text) {
            seed = parsed
        } else {
            seed = UInt64.random(in: .min ... .max)
        }
        print("[\(label)] NEGENTROPY_SEED=\(seed)")
        return seed
    }

    private static func parse(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }
}

extension NegentropyID {
    static func random(using generator: inout SeededGenerator) -> NegentropyID {
        NegentropyID(w0: generator.next(), w1: generator.next(), w2: generator.next(), w3: generator.next())
    }
}

func id(_ hex: String) -> NegentropyID {
    guard let id = NegentropyID(hex: hex) else { fatalError("bad test id \(hex)") }
    return id
}

func bytes(_ hex: String) -> [UInt8] {
    do { return try NegentropyHex.decode(hex) } catch { fatalError("bad test hex: \(error)") }
}

/// What one whole initiator/responder session produced.
struct SessionOutcome {
    var have: [NegentropyID] = []
    var need: [NegentropyID] = []
    /// Round trips: messages the responder answered.
    var rounds = 0
    var largestInitiatorMessage = 0
    var largestResponderMessage = 0
}

/// Runs a session to completion, checking every message against its sender's
/// frame size limit on the way.
func runSession(
    client: NegentropyStorage,
    server: NegentropyStorage,
    clientLimit: Int = 0,
    serverLimit: Int = 0,
    maxRounds: Int = 5_000
) throws -> SessionOutcome {
    let clientItems = client.items
    var initiator = try NegentropyInitiator(storage: client, frameSizeLimit: clientLimit)
    var responder = try NegentropyResponder(storage: server, frameSizeLimit: serverLimit)
    var outcome = SessionOutcome()
    var message = try initiator.initiate()
    while true {
        outcome.largestInitiatorMessage = max(outcome.largestInitiatorMessage, message.count)
        if clientLimit != 0 { #expect(message.count <= clientLimit) }
        let reply = try responder.reconcile(message)
        outcome.rounds += 1
        outcome.largestResponderMessage = max(outcome.largestResponderMessage, reply.count)
        if serverLimit != 0 { #expect(reply.count <= serverLimit) }
        let step = try initiator.reconcile(reply)
        outcome.have += step.have
        #expect(step.haveAt.map { clientItems[$0].id } == step.have, "haveAt names the storage positions of have")
        outcome.need += step.need
        guard let next = step.next else { break }
        guard outcome.rounds < maxRounds else {
            Issue.record("no convergence after \(maxRounds) rounds")
            break
        }
        message = next
    }
    return outcome
}

/// Runs a session and checks that have/need are exactly the set differences,
/// each id reported once.
@discardableResult
func expectExactReconciliation(
    client: [NegentropyItem],
    server: [NegentropyItem],
    clientLimit: Int = 0,
    serverLimit: Int = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> SessionOutcome {
    let outcome = try runSession(
        client: NegentropyStorage(items: client),
        server: NegentropyStorage(items: server),
        clientLimit: clientLimit,
        serverLimit: serverLimit
    )
    let clientIDs = Set(client.map(\.id))
    let serverIDs = Set(server.map(\.id))
    let have = Set(outcome.have)
    let need = Set(outcome.need)
    #expect(have.count == outcome.have.count, "an id was reported as have twice", sourceLocation: sourceLocation)
    #expect(need.count == outcome.need.count, "an id was reported as need twice", sourceLocation: sourceLocation)
    let trueHave = clientIDs.subtracting(serverIDs)
    let trueNeed = serverIDs.subtracting(clientIDs)
    // Compared through the differences so a failure names the few ids at fault.
    #expect(trueHave.subtracting(have).isEmpty, "have is missing ids", sourceLocation: sourceLocation)
    #expect(have.subtracting(trueHave).isEmpty, "have has extra ids", sourceLocation: sourceLocation)
    #expect(trueNeed.subtracting(need).isEmpty, "need is missing ids", sourceLocation: sourceLocation)
    #expect(need.subtracting(trueNeed).isEmpty, "need has extra ids", sourceLocation: sourceLocation)
    return outcome
}

enum Fixtures {
    static func text(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureError(message: "missing fixture \(name)")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The Kotlin tests' storage files: "timestamp,idhex" lines, blank lines
    /// ignored.
    static func items(_ name: String) throws -> [NegentropyItem] {
        try text(name).split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",")
            guard fields.count == 2 else { return nil }
            guard let timestamp = UInt64(fields[0]), let id = NegentropyID(hex: String(fields[1])) else {
                throw FixtureError(message: "bad fixture line \(line)")
            }
            return NegentropyItem(timestamp: timestamp, id: id)
        }
    }

    /// "key,value" lines ("#" starts a comment), values grouped by key in order.
    static func expectations(_ name: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in try text(name).split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = line.split(separator: ",", maxSplits: 1)
            guard fields.count == 2 else { continue }
            result[String(fields[0]), default: []].append(String(fields[1]))
        }
        return result
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
