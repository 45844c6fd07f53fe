import Testing

@testable import Negentropy

/// Cross-implementation fixtures from hoytech/negentropy's Kotlin tests
/// (kotlin/src/test/...), copied into Fixtures/ or inlined below. Our messages
/// must be byte-identical to the reference's.
@Suite struct ReferenceFixtureTests {
    static let three: [NegentropyItem] = [
        NegentropyItem(timestamp: 1678011277, id: id("eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c")),
        NegentropyItem(timestamp: 1678011278, id: id("39b916432333e069a4386917609215cc688eb99f06fed01aadc29b1b4b92d6f0")),
        NegentropyItem(timestamp: 1678011279, id: id("abc81d58ebe3b9a87100d47f58bf15e9b1cbf62d38623f11d0f0d17179f5f3ba")),
    ]

    /// NegentropyBasicTest.kt: testInitiation, testReconcile, testReconcileSimple.
    @Test func basic() throws {
        var initiator = try NegentropyInitiator(storage: NegentropyStorage(items: Self.three))
        let initial = try initiator.initiate()
        #expect(
            NegentropyHex.encode(initial)
                == "6100000203eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c39b916432333e069a4386917609215cc688eb99f06fed01aadc29b1b4b92d6f0abc81d58ebe3b9a87100d47f58bf15e9b1cbf62d38623f11d0f0d17179f5f3ba"
        )
        let step = try initiator.reconcile(initial)
        #expect(step.next == nil)
        #expect(step.have.isEmpty && step.need.isEmpty)

        var responder = try NegentropyResponder(storage: NegentropyStorage(items: Self.three))
        #expect(try responder.reconcile(bytes("62aabbccddeeff")) == [0x61])
    }

    /// NegentropyClientServerTest.kt: each side's initial message settles the
    /// other side's differences in one step.
    @Test func clientServer() throws {
        let p1 = NegentropyStorage(items: [Self.three[0], Self.three[2]])
        let p2 = NegentropyStorage(items: [Self.three[1], Self.three[2]])
        var one = try NegentropyInitiator(storage: p1)
        var two = try NegentropyInitiator(storage: p2)
        let init1 = try one.initiate()
        let init2 = try two.initiate()

        let result1 = try one.reconcile(init2)
        #expect(result1.next == nil)
        #expect(result1.need.map(\.hex) == ["39b916432333e069a4386917609215cc688eb99f06fed01aadc29b1b4b92d6f0"])
        #expect(result1.have.map(\.hex) == ["eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c"])

        let result2 = try two.reconcile(init1)
        #expect(result2.next == nil)
        #expect(result2.need.map(\.hex) == ["eb6b05c2e3b008592ac666594d78ed83e7b9ab30f825b9b08878128f7500008c"])
        #expect(result2.have.map(\.hex) == ["39b916432333e069a4386917609215cc688eb99f06fed01aadc29b1b4b92d6f0"])
    }

    /// NegentropyLargerTest.kt / NegentropyTwoRoundsTest.kt with Fixtures/client.txt
    /// and Fixtures/server.txt (30 items each, 6 differing on each side).
    @Test func larger() throws {
        let expected = try Fixtures.expectations("larger-expected.txt")
        let clientItems = try Fixtures.items("client.txt")
        let serverItems = try Fixtures.items("server.txt")
        let client = NegentropyStorage(items: clientItems)
        let server = NegentropyStorage(items: serverItems)
        #expect(client.count == 30 && server.count == 30)

        var initiator = try NegentropyInitiator(storage: client)
        var responder = try NegentropyResponder(storage: server)
        let initial = try initiator.initiate()
        #expect(NegentropyHex.encode(initial) == expected["init"]?.first)
        let reply = try responder.reconcile(initial)
        #expect(NegentropyHex.encode(reply) == expected["reply"]?.first)
        let step = try initiator.reconcile(reply)
        #expect(step.next == nil)
        #expect(step.have.map(\.hex) == expected["have"])
        #expect(step.need.map(\.hex) == expected["need"])

        // Second round, after each side took what it lacked: nothing left, and
        // the responder answers with the bare version byte.
        let merged = NegentropyStorage(items: clientItems + serverItems)
        var initiator2 = try NegentropyInitiator(storage: merged)
        var responder2 = try NegentropyResponder(storage: merged)
        let reply2 = try responder2.reconcile(try initiator2.initiate())
        #expect(reply2 == [0x61])
        let step2 = try initiator2.reconcile(reply2)
        #expect(step2.next == nil && step2.have.isEmpty && step2.need.isEmpty)
    }

    /// NegentropyFrameLimitsTest.kt / NegentropyLargerWLimitsTest.kt with
    /// Fixtures/framelimits-client.txt (111 items) and Fixtures/serverWLimits.txt
    /// (147 items), frameSizeLimit 4096 on both sides. Each side is fed the
    /// reference's messages and must answer exactly as the reference did, with
    /// one deliberate exception described below.
    @Test func frameLimits() throws {
        let expected = try Fixtures.expectations("framelimits-expected.txt")
        let client = NegentropyStorage(items: try Fixtures.items("framelimits-client.txt"))
        let server = NegentropyStorage(items: try Fixtures.items("serverWLimits.txt"))
        #expect(client.count == 111 && server.count == 147)
        func message(_ key: String) -> [UInt8] { bytes(expected[key]?.first ?? "") }

        var initiator = try NegentropyInitiator(storage: client, frameSizeLimit: 4096)
        var responder = try NegentropyResponder(storage: server, frameSizeLimit: 4096)

        let initial = try initiator.initiate()
        #expect(initial == message("init"))

        // The reply overflows the frame and ends with a fingerprint for the
        // rest of the set. The reference fingerprints only the records after
        // the range it dropped; we fingerprint everything not yet covered,
        // which is what the closing range claims to describe. All bytes but
        // those 16 must match, and both fingerprints must be of a tail of the
        // responder's records, ours starting earlier.
        let reply1 = try responder.reconcile(message("init"))
        let reference1 = message("reply1")
        #expect(reply1.count == reference1.count)
        #expect(reply1.dropLast(16) == reference1.dropLast(16))
        func tailStart(_ fingerprint: ArraySlice<UInt8>) -> Int? {
            (0...server.count).first { server.fingerprint(from: $0, to: server.count).bytes == Array(fingerprint) }
        }
        let referenceTail = try #require(tailStart(reference1.suffix(16)))
        let ourTail = try #require(tailStart(reply1.suffix(16)))
        #expect(ourTail < referenceTail)

        let step1 = try initiator.reconcile(message("reply1"))
        #expect(step1.next == message("client2"))
        #expect(step1.have.map(\.hex) == expected["have1"])
        #expect(step1.need.map(\.hex) == expected["need1"])
        // Our own reply leads the initiator to the same next message.
        var replay = try NegentropyInitiator(storage: client, frameSizeLimit: 4096)
        _ = try replay.initiate()
        let ownStep1 = try replay.reconcile(reply1)
        #expect(ownStep1.next == step1.next)
        #expect(ownStep1.have == step1.have && ownStep1.need == step1.need)

        let reply2 = try responder.reconcile(message("client2"))
        #expect(reply2 == message("reply2"))
        let step2 = try initiator.reconcile(message("reply2"))
        #expect(step2.next == nil)
        #expect(step2.have.map(\.hex) == expected["have2"])
        #expect(step2.need.map(\.hex) == expected["need2"])
    }

    /// NegentropyJavaSriptKotlinTest.kt (runKotlinJs, runJsKotlin): replays the
    /// JavaScript/Kotlin interop logs; every message one side produced must be
    /// the message the log shows the other side receiving.
    @Test(arguments: [
        ("lang1-js-client.txt", "lang1-kotlin-server.txt"),
        ("lang2-js-server.txt", "lang2-kotlin-client.txt"),
    ])
    func crossLanguageLog(first: String, second: String) throws {
        struct Instruction {
            var time: Int
            var node: String
            var command: String
        }
        func load(_ name: String) throws -> [Instruction] {
            try Fixtures.text(name).split(whereSeparator: \.isNewline).map { line in
                let fields = line.split(separator: ",", maxSplits: 2)
                guard fields.count == 3, let time = Int(fields[0]) else {
                    throw FixtureError(message: "bad log line \(line)")
                }
                return Instruction(time: time, node: String(fields[1]), command: String(fields[2]))
            }
        }
        // Stable sort by time, first file first, as the Kotlin harness does.
        let instructions = try (load(first) + load(second)).enumerated()
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map(\.element)

        var items: [String: [NegentropyItem]] = [:]
        var storages: [String: NegentropyStorage] = [:]
        var initiators: [String: NegentropyInitiator] = [:]
        var lastOutput: String?
        var messagesChecked = 0
        var finished = false

        for instruction in instructions {
            if let output = lastOutput {
                #expect(instruction.command == output, "message into \(instruction.node)")
                messagesChecked += 1
                lastOutput = nil
            }
            let fields = instruction.command.split(separator: ",")
            switch fields.first {
            case "create":
                #expect(fields.count == 2 && fields[1] == "0")
                items[instruction.node] = []
            case "item":
                let item = NegentropyItem(timestamp: UInt64(fields[1])!, id: id(String(fields[2])))
                items[instruction.node, default: []].append(item)
            case "seal":
                storages[instruction.node] = NegentropyStorage(items: items[instruction.node] ?? [])
            case "initiate":
                var initiator = try NegentropyInitiator(storage: storages[instruction.node]!)
                lastOutput = "msg," + NegentropyHex.encode(try initiator.initiate())
                initiators[instruction.node] = initiator
            case "msg":
                let message = bytes(String(fields[1]))
                if var initiator = initiators[instruction.node] {
                    let step = try initiator.reconcile(message)
                    initiators[instruction.node] = initiator
                    #expect(step.have.isEmpty && step.need.isEmpty)
                    if let next = step.next {
                        lastOutput = "msg," + NegentropyHex.encode(next)
                    } else {
                        finished = true
                    }
                } else {
                    var responder = try NegentropyResponder(storage: storages[instruction.node]!)
                    lastOutput = "msg," + NegentropyHex.encode(try responder.reconcile(message))
                }
            default:
                Issue.record("unknown log command \(instruction.command)")
            }
        }
        #expect(messagesChecked == 2)
        #expect(finished)
        #expect(storages.values.allSatisfy { $0.count == 25 })
    }
}
