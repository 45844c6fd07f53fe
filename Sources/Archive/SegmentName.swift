import Foundation

/// `events-YYYYMMDDTHHMMSSZ-NNNNNN.jsonl.zst[.part]`: sorting names sorts by time.
struct SegmentName: Comparable {
    static let sealedSuffix = ".jsonl.zst"
    static let openSuffix = ".jsonl.zst.part"

    let stamp: String
    let sequence: Int
    let isOpen: Bool

    init(date: Date, sequence: Int) {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        stamp = f.string(from: date)
        self.sequence = sequence
        isOpen = true
    }

    init?(fileName: String) {
        let isOpen = fileName.hasSuffix(Self.openSuffix)
        guard fileName.hasPrefix("events-"), isOpen || fileName.hasSuffix(Self.sealedSuffix) else { return nil }
        let core = fileName.dropFirst("events-".count).dropLast(isOpen ? Self.openSuffix.count : Self.sealedSuffix.count)
        let parts = core.split(separator: "-")
        guard parts.count == 2, parts[0].count == 16, let seq = Int(parts[1]) else { return nil }
        stamp = String(parts[0])
        sequence = seq
        self.isOpen = isOpen
    }

    var openName: String { "events-\(stamp)-\(String(format: "%06d", sequence))\(Self.openSuffix)" }
    var sealedName: String { "events-\(stamp)-\(String(format: "%06d", sequence))\(Self.sealedSuffix)" }

    static func < (a: SegmentName, b: SegmentName) -> Bool {
        (a.stamp, a.sequence) < (b.stamp, b.sequence)
    }
}
