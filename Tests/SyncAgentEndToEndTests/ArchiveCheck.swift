import Archive
import Foundation
import NostrCore

/// Reads back what the agent archived.
enum ArchiveCheck {
    /// Event ids of every line in every segment, in file order.
    static func ids(in directory: URL, only name: String? = nil) throws -> [String] {
        let names = try name.map { [$0] } ?? FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let files = names.map { directory.appendingPathComponent($0) }
        var ids: [String] = []
        for f in files {
            try ArchiveReader(url: f).forEachLine { ids.append(try Event(json: $0.text).id) }
        }
        return ids
    }
}
