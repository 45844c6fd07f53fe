import Foundation
import Ledger
import NIOCore

/// `audit` for media: every kept blob re-hashed in the local store, and asked for by `HEAD` on
/// every backup server. With `repair`, a damaged or missing local copy is fetched again and a
/// blob missing on a server is put there again (both through the ledger's schedule).
public struct MediaAudit: Sendable {
    public struct Report: Sendable, Codable, Equatable {
        public var checked = 0
        public var localMissing: [String] = []
        public var localDamaged: [String] = []
        /// Server → hashes it lacks.
        public var missingOnServer: [String: [String]] = [:]
        public var repaired = 0

        public var clean: Bool { localMissing.isEmpty && localDamaged.isEmpty && missingOnServer.values.allSatisfy(\.isEmpty) }

        public var lines: [String] {
            var l = ["  media: \(checked) kept blobs checked, \(localMissing.count) missing and \(localDamaged.count) damaged locally"]
            for (s, m) in missingOnServer.sorted(by: { $0.key < $1.key }) { l.append("    \(s): \(m.count) missing") }
            if repaired > 0 { l.append("    \(repaired) fetched or uploaded again") }
            return l
        }
    }

    let worker: MediaWorker
    let ledger: Ledger

    public init(worker: MediaWorker, ledger: Ledger) {
        self.worker = worker
        self.ledger = ledger
    }

    public func run(repair: Bool, now: Int64) async throws -> Report {
        var report = Report()
        var after = ""
        let servers = worker.configuration.backupServers
        while true {
            let page = try ledger.keptBlobs(after: after, limit: 500)
            guard let last = page.last else { break }
            after = last.hash
            for blob in page {
                guard let hash = BlobHash(blob.hash) else { continue }
                report.checked += 1
                let path = worker.store.path(of: hash).path
                if !FileManager.default.fileExists(atPath: path) {
                    report.localMissing.append(hash.hex)
                    if repair { try await ledger.blobLost(hash.hex, reason: "missing from the store", now: now) }
                } else if MediaWorker.sha256(ofFile: path) != hash.hex {
                    report.localDamaged.append(hash.hex)
                    if repair {
                        worker.store.remove(hash)
                        try await ledger.blobLost(hash.hex, reason: "damaged in the store", now: now)
                    }
                }
                for server in servers {
                    if try await worker.exists(hash, on: server) == false {
                        report.missingOnServer[server, default: []].append(hash.hex)
                        if repair {
                            try await ledger.mirrorOutcome(hash.hex, server: server, state: .pending, reason: "missing at audit", retryAt: now, now: now)
                        }
                    }
                }
            }
        }
        guard repair else { return report }
        try await worker.runUntilIdle()
        // What is left after the repair is what the report says.
        var remaining = try await run(repair: false, now: now)
        remaining.repaired = report.localMissing.count + report.localDamaged.count + report.missingOnServer.values.map(\.count).reduce(0, +)
        return remaining
    }
}
