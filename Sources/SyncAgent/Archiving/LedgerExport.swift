import Archive
import Foundation
import Ledger

/// Writes the ledger's events (their received text, in commit order) to one file.
public enum LedgerExport {
    /// Every event of the configuration's ledger.
    public static func export(configuration: SyncConfiguration, to out: URL, since: Int64?, until: Int64?) throws -> Int {
        try export(ledger: try Ledger(path: configuration.ledgerPath.path), to: out, since: since, until: until)
    }

    public static func export(ledger: Ledger, to out: URL, since: Int64?, until: Int64?) throws -> Int {
        let plain = out.pathExtension == "jsonl"
        let staging = out.deletingLastPathComponent().appendingPathComponent(".relaysync-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        var config = ArchiveConfiguration(directory: staging)
        config.rotateBytes = .max
        config.rotateAge = .seconds(Int64.max / 2)
        let writer = plain ? nil : try ArchiveWriter(configuration: config)
        var text = ""
        var count = 0
        var after: Int64 = 0
        while true {
            let batch = try ledger.events(afterSeq: after, limit: 5_000)
            guard let last = batch.last else { break }
            after = last.seq
            for e in batch {
                if let since, e.createdAt < since { continue }
                if let until, e.createdAt > until { continue }
                if let writer {
                    try writer.append(rawLine: e.rawJSON, key: ArchivedEventKey(id: e.id, createdAt: e.createdAt))
                } else {
                    text += e.rawJSON + "\n"
                }
                count += 1
            }
        }
        if let writer {
            try writer.close()
            let produced = try FileManager.default.contentsOfDirectory(at: staging, includingPropertiesForKeys: nil)
            try? FileManager.default.removeItem(at: out)
            if let file = produced.first {
                try FileManager.default.moveItem(at: file, to: out)
            } else {
                // An empty export is still a file, so scripts can rely on it existing.
                try Data().write(to: out)
            }
        } else {
            try text.write(to: out, atomically: true, encoding: .utf8)
        }
        return count
    }
}
