import Foundation
import NostrCore

/// Ids a relay already accepted during an earlier restore into it, so an
/// interrupted restore resumes without re-sending them. One id per line,
/// appended and fsynced per batch; a torn last line is ignored.
public final class RestoreJournal {
    public let url: URL
    /// What the target had accepted when the journal was opened, for the reading thread to skip.
    let ids: Set<Bytes32>
    private let handle: FileHandle

    public init(url: URL) throws {
        self.url = url
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // A file that cannot be created is reported by FileHandle below, with the reason.
        if !fm.fileExists(atPath: url.path) { _ = fm.createFile(atPath: url.path, contents: nil) }
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        ids = Set(text.split(separator: "\n").lazy.compactMap { Bytes32(hex: String($0)) })
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        // A torn final line from a crash must not glue onto the next id.
        if !text.isEmpty && !text.hasSuffix("\n") { try handle.write(contentsOf: Data("\n".utf8)) }
    }

    deinit { try? handle.close() }

    /// Appends ids the relay now holds. They are not added to `ids`: a restore never offers one
    /// event twice, and holding every id of a large restore in memory a second time would double
    /// what its de-duplication already costs.
    public func record(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try handle.write(contentsOf: Data((ids.joined(separator: "\n") + "\n").utf8))
        try handle.synchronize()
    }

    /// Default place: beside the first archive, named after the target relay.
    public static func defaultURL(for relayURL: RelayURL, besides archive: URL) -> URL {
        let safe = relayURL.normalized.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "_" }
        return archive.deletingLastPathComponent().appendingPathComponent(".relaysync-restore-\(String(safe)).journal")
    }
}
