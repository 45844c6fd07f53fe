import Foundation
import NostrCore

/// One segment as `archive ls` shows it.
public struct ArchiveSegmentInfo: Sendable, Codable {
    public var name: String
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
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .compactMap { n in SegmentName(fileName: n).map { (n, $0) } }
            .sorted { $0.1 < $1.1 }
        return try names.map { file, name in
            let reader = ArchiveReader(url: directory.appendingPathComponent(file))
            var info = ArchiveSegmentInfo(name: file, sealed: !name.isOpen, events: 0, bytesCompressed: 0, bytesUncompressed: 0)
            try reader.forEachLine { line in
                info.events += 1
                if let t = (try? JSONValue.parse(line.text))?["created_at"]?.intValue {
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
