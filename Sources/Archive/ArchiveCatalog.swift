import Foundation
import NostrCore

/// One segment as `archive ls` shows it.
public struct ArchiveSegmentInfo: Sendable, Codable {
    public var name: String
    /// The folder it is in, when several were listed.
    public var folder: String?
    /// The agent that wrote it (a cluster's segments carry its id), nil for a single agent's.
    public var agent: String?
    public var sealed: Bool
    public var events: Int
    public var bytesCompressed: Int
    public var bytesUncompressed: Int
    public var oldest: Int64?
    public var newest: Int64?

    public var ratio: Double { bytesCompressed > 0 ? Double(bytesUncompressed) / Double(bytesCompressed) : 0 }
}

public enum ArchiveCatalog {
    /// The segments in `directory`, oldest first (other files are ignored).
    public static func segments(in directory: URL) throws -> [ArchiveSegmentInfo] {
        try segments(in: directory, eventIDs: nil)
    }

    /// The segments of several folders (a cluster's agents each write their own), merged in
    /// time order, with how many distinct events they hold: an event archived by two agents (at
    /// a handover) counts once.
    public static func segments(in directories: [URL]) throws -> (segments: [ArchiveSegmentInfo], distinctEvents: Int) {
        var ids = Set<String>()
        var all: [(SegmentName, ArchiveSegmentInfo)] = []
        for directory in directories {
            for var info in try segments(in: directory, eventIDs: { ids.insert($0) }) {
                info.folder = directories.count > 1 ? directory.path : nil
                if let name = SegmentName(fileName: info.name) { all.append((name, info)) }
            }
        }
        return (all.sorted { $0.0 < $1.0 }.map(\.1), ids.count)
    }

    private static func segments(in directory: URL, eventIDs: ((String) -> Void)?) throws -> [ArchiveSegmentInfo] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .compactMap { n in SegmentName(fileName: n).map { (n, $0) } }
            .sorted { $0.1 < $1.1 }
        return try names.map { file, name in
            let reader = ArchiveReader(url: directory.appendingPathComponent(file))
            var info = ArchiveSegmentInfo(name: file, agent: name.agent, sealed: !name.isOpen, events: 0, bytesCompressed: 0, bytesUncompressed: 0)
            try reader.forEachLine { line in
                info.events += 1
                let object = try? JSONValue.parse(line.text)
                if let id = object?["id"]?.stringValue { eventIDs?(id) }
                if let t = object?["created_at"]?.intValue {
                    info.oldest = min(info.oldest ?? t, t)
                    info.newest = max(info.newest ?? t, t)
                }
            }
            info.bytesCompressed = reader.compressedBytes
            info.bytesUncompressed = reader.uncompressedBytes
            return info
        }
    }
}
