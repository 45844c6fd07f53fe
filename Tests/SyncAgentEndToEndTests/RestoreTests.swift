import Archive
import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// Archives made by the agent from a real relay, verified, then restored into fresh real relays.
@Suite(.serialized) struct RestoreTests {
    /// Fetched from LocalRelay by the agent, archived, verified, restored into a fresh relay of
    /// each kind. nostr-relay, run with its default age check, refuses events older than a year
    /// (documented in PEERS.md): that one is the only difference, and the report names it.
    @Test(.timeLimit(.minutes(3)), arguments: [TestRelay.Flavor.nostrRelay, .localRelay])
    func agentArchiveRestoresIntoAFreshRelay(_ flavor: TestRelay.Flavor) async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        // One restore batch either way (500): more notes would only time nostr-relay's writes.
        let notes = try AgentFixture.notes(alice, count: 120, start: now - 1_000)
        let profile = try alice.sign(kind: 0, content: #"{"name":"alice"}"#, createdAt: now - 10)
        let articles = try ["one", "two"].map { try alice.sign(kind: 30023, content: "article \($0)", tags: [["d", $0]], createdAt: now - 5) }
        let old = try AgentFixture.notes(alice, count: 1, start: now - 3 * 365 * 86_400)
        let all = notes + [profile] + articles + old

        let source = try await TestRelay.start(.localRelay)
        let target = try await TestRelay.start(flavor, options: .init(recentOnly: true))
        defer { source.stopNow(); target.stopNow() }
        try await AgentFixture.seed(all, into: source.url)
        let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(source.url, .primary)], archive: true)
        let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
        #expect(summary.succeeded, "\(summary.text)")

        let segments = try FileManager.default.contentsOfDirectory(at: config.archive!.directory, includingPropertiesForKeys: nil)
        let verified = ArchiveVerifier.verify(segments)
        #expect(verified.allSatisfy { $0.isClean })
        #expect(verified.map(\.events).reduce(0, +) == all.count)

        var options = RestoreJob.Options(target: target.url, files: segments)
        options.journal = f.directory.appendingPathComponent("restore.journal")
        let report = try await RestoreJob(options: options, logger: AgentFixture.logger).run()
        let expected: Set<String>
        if flavor == .nostrRelay {
            expected = Set(all.map(\.id)).subtracting(old.map(\.id))
            #expect(report.rejected.values.map(\.count).reduce(0, +) == old.count, "\(report.text)")
            #expect(Set(report.rejected.values.flatMap(\.examples)) == Set(old.map(\.id)))
            #expect(!report.succeeded)
        } else {
            expected = Set(all.map(\.id))
            #expect(report.succeeded, "\(report.text)")
        }
        #expect(report.read == all.count)
        #expect(report.accepted == expected.count, "\(report.text)")
        #expect(try await AgentFixture.ids(on: target.url, authors: [alice.publicKey]) == expected)

        // Resumed (or repeated) with the same journal: nothing already accepted is sent again.
        let again = try await RestoreJob(options: options, logger: AgentFixture.logger).run()
        #expect(again.alreadyRestored == expected.count)
        #expect(again.accepted + again.duplicate == 0)
    }

    /// Damaged archives: every problem is reported with its place, and every intact event is
    /// still restored.
    @Test(.timeLimit(.minutes(3)))
    func damagedArchivesRestoreEveryIntactEventAndReportTheRest() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let alice = SecretKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let dir = f.directory.appendingPathComponent("archives")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        // Two segments of 1,000 events in frames of 100: one truncated, one with a flipped byte.
        func segment(_ events: [Event], into sub: String) throws -> URL {
            var c = ArchiveConfiguration(directory: dir.appendingPathComponent(sub))
            c.flushEveryLines = 100
            let w = try ArchiveWriter(configuration: c)
            for e in events { try w.append(e) }
            try w.close()
            return try FileManager.default.contentsOfDirectory(at: c.directory, includingPropertiesForKeys: nil)[0]
        }
        let first = try AgentFixture.notes(alice, count: 1_000, start: now - 10_000)
        let second = try AgentFixture.notes(alice, count: 1_000, start: now - 5_000)
        let truncated = try segment(first, into: "a")
        let size = try FileManager.default.attributesOfItem(atPath: truncated.path)[.size] as! Int
        #expect(truncate(truncated.path, off_t(size - size / 20)) == 0)
        let flipped = try segment(second, into: "b")
        var bytes = try Data(contentsOf: flipped)
        // Mid-payload of the sixth of ten frames (a header byte would be a different failure).
        let starts = ZstdFrames.starts(in: bytes)
        try #require(starts.count == 10)
        bytes[starts[5] + (starts[6] - starts[5]) / 2] ^= 0x55
        try bytes.write(to: flipped)

        // A plain JSONL from another tool with a forged signature and a non-JSON line.
        let plainEvents = try AgentFixture.notes(alice, count: 4, start: now - 100)
        let forged = plainEvents[1].rawJSON.replacingOccurrences(of: plainEvents[1].sig, with: String(plainEvents[1].sig.reversed()))
        let plain = dir.appendingPathComponent("other-tool.jsonl")
        try [plainEvents[0].rawJSON, forged, "not json at all", plainEvents[2].rawJSON, plainEvents[3].rawJSON]
            .joined(separator: "\n").write(to: plain, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty.jsonl.zst")
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))

        let target = try await TestRelay.start(.localRelay)
        defer { target.stopNow() }
        var options = RestoreJob.Options(target: target.url, files: [truncated, flipped, plain, empty])
        options.journal = f.directory.appendingPathComponent("restore.journal")
        let report = try await RestoreJob(options: options, logger: AgentFixture.logger).run()
        #expect(!report.succeeded)
        #expect(report.invalid["bad signature"]?.examples == ["other-tool.jsonl:2"], "\(report.text)")
        #expect(report.invalid["not an event"]?.examples == ["other-tool.jsonl:3"], "\(report.text)")
        #expect(report.invalid.keys.contains { $0.hasPrefix("damaged archive") && $0.contains("truncated") }, "\(report.text)")
        #expect(report.invalid.keys.contains { $0.hasPrefix("damaged archive") && $0.contains("corrupt frame") }, "\(report.text)")
        #expect(report.invalid.keys.contains { $0 == "damaged archive: empty file" }, "\(report.text)")

        let onRelay = try await AgentFixture.ids(on: target.url, authors: [alice.publicKey])
        let original = Set((first + second + plainEvents).map(\.id))
        // Everything restored is genuine; the nine intact frames before the cut, the frames
        // around the flipped byte and the good plain lines are all there.
        #expect(onRelay.isSubset(of: original))
        #expect(Set(first.prefix(900).map(\.id)).isSubset(of: onRelay))
        #expect(Set(second.prefix(400).map(\.id)).isSubset(of: onRelay))
        #expect(Set(second.suffix(400).map(\.id)).isSubset(of: onRelay))
        #expect(Set([plainEvents[0], plainEvents[2], plainEvents[3]].map(\.id)).isSubset(of: onRelay))
        #expect(report.accepted == onRelay.count)
        // What the verifier calls intact is exactly what was restored.
        let intact = ArchiveVerifier.verify([truncated, flipped, plain, empty]).map(\.events).reduce(0, +)
        #expect(intact == onRelay.count)
    }
}
