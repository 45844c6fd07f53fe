import Archive
import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

/// The reading half of a restore, without a relay: what it hands over, in what order, and that
/// it stops when its consumer goes away.
@Suite struct RestoreFeedTests {
    @Test(.timeLimit(.minutes(1)))
    func batchesRegularEventsThenReplaceablesOldestFirstAndAccountsForTheRest() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 95)
        // Five versions of one profile, in the file newest first: they must come out oldest first.
        let profiles = try (0..<5).reversed().map { try alice.sign(kind: 0, content: "v\($0)", createdAt: 1_700_000_500 + Int64($0)) }
        let forged = notes[3].rawJSON.replacingOccurrences(of: notes[3].sig, with: String(notes[3].sig.reversed()))
        let lines = notes.map(\.rawJSON) + profiles.map(\.rawJSON) + [forged, notes[7].rawJSON]
        let file = f.directory.appendingPathComponent("mixed.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)

        var options = RestoreJob.Options(target: "ws://127.0.0.1:1", files: [file])
        options.batchSize = 10
        let restored = Set(notes.suffix(3).compactMap { Bytes32(hex: $0.id) })
        let feed = RestoreFeed(options: options, restored: restored, depth: 2)
        var batches: [([Event], Bool)] = []
        var report: RestoreReport?
        for try await item in feed.items() {
            switch item {
            case let .events(batch, replaceable):
                feed.taken()
                batches.append((batch, replaceable))
            case let .finished(r):
                report = r
            }
        }
        let regular = batches.filter { !$0.1 }.flatMap(\.0)
        #expect(batches.filter { !$0.1 }.map(\.0.count) == [10, 10, 10, 10, 10, 10, 10, 10, 10, 2])
        #expect(regular.map(\.id) == notes.prefix(92).map(\.id))
        #expect(batches.last?.1 == true)
        #expect(batches.last?.0.map(\.content) == ["v0", "v1", "v2", "v3", "v4"])
        let r = try #require(report)
        #expect(r.read == lines.count)
        #expect(r.alreadyRestored == 3)
        #expect(r.invalid["bad signature"]?.examples == ["mixed.jsonl:101"])
        #expect(r.skipped["duplicate within the archives"]?.count == 1)
    }

    /// A cluster's agents archive to folders of their own; at a handover one segment may be in
    /// both. Restoring both folders sends every event once.
    @Test(.timeLimit(.minutes(1)))
    func twoAgentsFoldersOverlappingByOneSegmentRestoreEachEventOnce() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let notes = try AgentFixture.notes(SecretKey.generate(), count: 30)
        let first = f.directory.appendingPathComponent("agent-a"), second = f.directory.appendingPathComponent("agent-b")
        for (folder, agent, slice) in [(first, "host-a:1", notes[0..<20]), (second, "host-b:2", notes[20..<30])] {
            var config = ArchiveConfiguration(directory: folder)
            config.agentID = agent
            let writer = try ArchiveWriter(configuration: config)
            for e in slice { try writer.append(e) }
            try writer.close()
        }
        let handover = try #require(try FileManager.default.contentsOfDirectory(atPath: first.path).first)
        try FileManager.default.copyItem(at: first.appendingPathComponent(handover), to: second.appendingPathComponent(handover))
        let files = try [first, second].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { folder.appendingPathComponent($0) }
        }
        #expect(files.count == 3)
        let feed = RestoreFeed(options: RestoreJob.Options(target: "ws://127.0.0.1:1", files: files), restored: [], depth: 2)
        var sent: [String] = []
        var report: RestoreReport?
        for try await item in feed.items() {
            switch item {
            case let .events(batch, _):
                feed.taken()
                sent += batch.map(\.id)
            case let .finished(r):
                report = r
            }
        }
        #expect(sent.count == 30)
        #expect(Set(sent) == Set(notes.map(\.id)))
        #expect(report?.read == 50)
        #expect(report?.skipped["duplicate within the archives"]?.count == 20)
    }

    @Test(.timeLimit(.minutes(1)))
    func stoppingReleasesTheReadingThread() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let notes = try AgentFixture.notes(SecretKey.generate(), count: 200)
        let file = f.directory.appendingPathComponent("notes.jsonl")
        try notes.map(\.rawJSON).joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        var options = RestoreJob.Options(target: "ws://127.0.0.1:1", files: [file])
        options.batchSize = 10
        let feed = RestoreFeed(options: options, restored: [], depth: 1)
        var iterator = feed.items().makeAsyncIterator()
        guard case let .events(first, _)? = try await iterator.next() else { Issue.record("expected a batch"); return }
        #expect(first.count == 10)
        // Not taken: the reader waits for room. Stopping must end the stream, not leave it waiting.
        feed.stop()
        var after = 0
        while let item = try await iterator.next() {
            if case .events = item { after += 1 }
            #expect(after <= 1)
        }
        #expect(after <= 1, "at most the batch already handed over before the stop was seen")
    }
}
