import Foundation
import NIOCore

/// Uploads a local store into a Blossom server (`restore --media-to`): each blob is re-hashed
/// first (a damaged file is reported, never sent), then put as the mirror step does (HEAD, then
/// BUD-06 and BUD-02 upload). Blobs the server took are journaled, so an interrupted restore
/// resumes without asking about them again.
public struct MediaRestore: Sendable {
    public struct Report: Sendable, Codable, Equatable {
        public var server: String
        public var uploaded = 0
        public var alreadyThere = 0
        /// In the journal from an earlier, interrupted run.
        public var resumed = 0
        /// Reason → blobs.
        public var failed: [String: Int] = [:]
        public var bytes: Int64 = 0

        public var succeeded: Bool { failed.isEmpty }

        public var text: String {
            var lines = [
                "restore media to \(server): \(uploaded) uploaded (\(bytes) bytes), \(alreadyThere) already there, \(resumed) done before"
            ]
            for (reason, n) in failed.sorted(by: { $0.value > $1.value }) { lines.append("  FAILED \(n)× \(reason)") }
            return lines.joined(separator: "\n")
        }
    }

    public let store: BlobStore
    public let server: String
    public let authorizer: BlossomAuthorizer
    public var journal: URL
    public var timeout: Duration = .seconds(300)
    public var concurrency = 4

    public init(store: BlobStore, server: String, authorizer: BlossomAuthorizer, journal: URL? = nil) {
        self.store = store
        self.server = MediaConfiguration.trimmed(server)
        self.authorizer = authorizer
        let name = self.server.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        self.journal = journal ?? store.directory.appendingPathComponent(".restore-\(String(name)).journal")
    }

    public func run(group: any EventLoopGroup) async throws -> Report {
        var report = Report(server: server)
        let done = Set(((try? String(contentsOf: journal, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        if !FileManager.default.fileExists(atPath: journal.path) { _ = FileManager.default.createFile(atPath: journal.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: journal)
        defer { try? handle.close() }
        try handle.seekToEnd()
        let uploader = BlossomUploader(group: group, authorizer: authorizer, store: store, timeout: timeout)
        let todo = store.allHashes().filter { h in
            if done.contains(h.hex) {
                report.resumed += 1
                return false
            }
            return true
        }
        let results = try await withThrowingTaskGroup(of: (BlobHash, Int64, Result<BlossomUploader.Outcome, MirrorFailure>).self) { tasks in
            var out: [(BlobHash, Int64, Result<BlossomUploader.Outcome, MirrorFailure>)] = []
            var running = 0
            for hash in todo {
                if running >= concurrency, let r = try await tasks.next() {
                    out.append(r)
                    if case .success = r.2 { handle.write(Data((r.0.hex + "\n").utf8)) }
                    running -= 1
                }
                tasks.addTask {
                    let path = store.path(of: hash).path
                    let size = store.size(of: hash) ?? 0
                    guard MediaWorker.sha256(ofFile: path) == hash.hex else {
                        return (hash, size, .failure(MirrorFailure(status: nil, detail: "local copy damaged (hash mismatch)")))
                    }
                    return (hash, size, await uploader.put(hash, size: size, type: nil, on: server, source: nil))
                }
                running += 1
            }
            for try await r in tasks {
                out.append(r)
                if case .success = r.2 { handle.write(Data((r.0.hex + "\n").utf8)) }
            }
            return out
        }
        await uploader.shutdown()
        for (_, size, result) in results {
            switch result {
            case .success(.alreadyPresent): report.alreadyThere += 1
            case .success:
                report.uploaded += 1
                report.bytes += size
            case .failure(let f): report.failed[f.reason, default: 0] += 1
            }
        }
        try? handle.synchronize()
        return report
    }
}
