import Foundation

/// `events-YYYYMMDDTHHMMSSZ-NNNNNN[-AGENT].jsonl.zst[.part]`: sorting names sorts by time. AGENT is
/// the writing agent's id in a cluster (`SegmentName.agentTag`), so agents sharing a folder or
/// merged folders never clash; a single agent on SQLite leaves it out.
struct SegmentName: Comparable {
    static let sealedSuffix = ".jsonl.zst"
    static let openSuffix = ".jsonl.zst.part"

    let stamp: String
    let sequence: Int
    let agent: String?
    let isOpen: Bool

    init(date: Date, sequence: Int, agent: String? = nil) {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        stamp = f.string(from: date)
        self.sequence = sequence
        self.agent = agent
        isOpen = true
    }

    init?(fileName: String) {
        let isOpen = fileName.hasSuffix(Self.openSuffix)
        guard fileName.hasPrefix("events-"), isOpen || fileName.hasSuffix(Self.sealedSuffix) else { return nil }
        let core = fileName.dropFirst("events-".count).dropLast(isOpen ? Self.openSuffix.count : Self.sealedSuffix.count)
        // The agent's tag may itself hold dashes: only the first two split.
        let parts = core.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].count == 16, let seq = Int(parts[1]) else { return nil }
        if parts.count == 3 {
            guard !parts[2].isEmpty, Self.agentTag(String(parts[2])) == parts[2] else { return nil }
            agent = String(parts[2])
        } else {
            agent = nil
        }
        stamp = String(parts[0])
        sequence = seq
        self.isOpen = isOpen
    }

    private var base: String { "events-\(stamp)-\(String(format: "%06d", sequence))" + (agent.map { "-\($0)" } ?? "") }
    var openName: String { base + Self.openSuffix }
    var sealedName: String { base + Self.sealedSuffix }

    static func < (a: SegmentName, b: SegmentName) -> Bool {
        (a.stamp, a.sequence, a.agent ?? "") < (b.stamp, b.sequence, b.agent ?? "")
    }

    /// An agent id as it may stand in a file name: letters, digits, `.`, `_` and `-` kept, anything
    /// else (the `:` of `host:pid`, `/`, spaces) becomes `-`; at most 64 characters.
    static func agentTag(_ id: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return String(String(id.map { allowed.contains($0) ? $0 : "-" }).prefix(64))
    }
}
