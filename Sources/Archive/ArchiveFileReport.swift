import Foundation

/// What `archive verify` found in one file.
public struct ArchiveFileReport: Sendable, Codable {
    public struct BadLine: Sendable, Codable, Equatable {
        public var line: Int
        public var reason: String
    }

    public var file: String
    /// Lines that parsed and verified.
    public var events = 0
    /// The first bad lines (capped at `maxListed`); `invalidCount` counts them all.
    public var invalidLines: [BadLine] = []
    public var invalidCount = 0
    public var problems: [ArchiveReadProblem] = []
    public var duplicateIDs = 0
    public var duplicateExamples: [String] = []
    public var oldest: Int64?
    public var newest: Int64?
    public var bytesCompressed = 0
    public var bytesUncompressed = 0

    static let maxListed = 50

    public var isClean: Bool { invalidCount == 0 && problems.isEmpty && duplicateIDs == 0 }

    public var text: String {
        var out = ["\(file): \(isClean ? "OK" : "DAMAGED") \(events) events" + (oldest.map { " from \(Self.time($0)) to \(Self.time(newest ?? $0))" } ?? "")]
        for p in problems { out.append("  \(p.frame.map { "frame \($0) " } ?? "")byte \(p.offset): \(p.reason)") }
        for b in invalidLines { out.append("  line \(b.line): \(b.reason)") }
        if invalidCount > invalidLines.count { out.append("  … and \(invalidCount - invalidLines.count) more invalid lines") }
        if duplicateIDs > 0 { out.append("  \(duplicateIDs) duplicate ids, e.g. \(duplicateExamples.joined(separator: ", "))") }
        return out.joined(separator: "\n")
    }

    private static func time(_ t: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }
}
