import Foundation

/// How far a restore has got, read from outside the job without touching it: every id the target
/// accepts (or already had) is appended to the journal, 64 hex digits and a newline, so the
/// journal's growth since the start counts them. A dry run keeps no journal and reports nothing.
public struct RestoreProgress: Sendable {
    let journal: String?
    let startBytes: Int64

    public init(options: RestoreJob.Options) {
        journal =
            options.dryRun || options.files.isEmpty
            ? nil
            : (options.journal ?? RestoreJournal.defaultURL(for: options.target, besides: options.files[0])).path
        startBytes = journal.map(Self.size) ?? 0
    }

    /// Events the target has taken since this restore started.
    public var restored: Int {
        guard let journal else { return 0 }
        return Int(max(0, Self.size(journal) - startBytes) / 65)
    }

    public var sample: ProgressSample { ProgressSample(done: restored) }

    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
