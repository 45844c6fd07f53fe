import Foundation
import NostrCore

/// Re-reads archive files and re-verifies every event, reporting everything
/// readable even when something is damaged.
public enum ArchiveVerifier {
    public static func verify(_ files: [URL]) -> [ArchiveFileReport] {
        var seen = Set<String>()
        return files.map { verify($0, seen: &seen) }
    }

    static func verify(_ file: URL, seen: inout Set<String>) -> ArchiveFileReport {
        var report = ArchiveFileReport(file: file.path)
        let reader = ArchiveReader(url: file)
        do {
            try reader.forEachLine { line in
                let event: Event
                do { event = try Event(json: line.text) } catch {
                    report.invalidCount += 1
                    if report.invalidLines.count < ArchiveFileReport.maxListed {
                        report.invalidLines.append(.init(line: line.lineNumber, reason: "\(error)"))
                    }
                    return
                }
                let verdict = event.verify()
                guard verdict.isValid else {
                    report.invalidCount += 1
                    if report.invalidLines.count < ArchiveFileReport.maxListed {
                        report.invalidLines.append(.init(line: line.lineNumber, reason: "event \(event.id): \(verdict.reason)"))
                    }
                    return
                }
                guard seen.insert(event.id).inserted else {
                    report.duplicateIDs += 1
                    if report.duplicateExamples.count < 3 { report.duplicateExamples.append(event.id) }
                    return
                }
                report.events += 1
                report.oldest = min(report.oldest ?? event.createdAt, event.createdAt)
                report.newest = max(report.newest ?? event.createdAt, event.createdAt)
            }
        } catch {
            report.problems.append(ArchiveReadProblem(file: file.path, frame: nil, offset: 0, reason: "\(error)"))
        }
        report.problems += reader.problems
        report.bytesCompressed = reader.compressedBytes
        report.bytesUncompressed = reader.uncompressedBytes
        return report
    }
}
