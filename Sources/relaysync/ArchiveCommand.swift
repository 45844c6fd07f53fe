import Archive
import ArgumentParser
import Foundation
import Media
import NostrCore
import SyncAgent

extension RelaySyncCommand {
    struct ArchiveCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive",
            abstract: "Verify, list and export zstd JSONL archives.",
            subcommands: [Verify.self, List.self, Export.self]
        )
    }
}

/// Files named on the command line; a folder stands for its archive files.
func archiveFiles(_ paths: [String]) throws -> [URL] {
    var files: [URL] = []
    for p in paths {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw CLIError.usage("\(p): no such file or folder") }
        guard FileManager.default.isReadableFile(atPath: p) else { throw CLIError.usage("\(p): permission denied") }
        if isDir.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: p).filter {
                $0.hasSuffix(".jsonl.zst") || $0.hasSuffix(".jsonl") || $0.hasSuffix(".part")
            }.sorted()
            files += names.map { URL(fileURLWithPath: p).appendingPathComponent($0) }
        } else {
            files.append(URL(fileURLWithPath: p))
        }
    }
    guard !files.isEmpty else { throw CLIError.usage("no archive files in \(paths.joined(separator: " "))") }
    return files
}

func printJSON<T: Encodable>(_ value: T) {
    print(JSONOutput.string(value))
}

extension RelaySyncCommand.ArchiveCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Decompress every frame, parse every line, re-verify every id and signature.",
            discussion:
                "Reports per file: events, invalid lines with line numbers, damaged or truncated frames, duplicate ids, time range. Exits 1 on any damage, after reporting everything readable."
        )

        @Argument(help: "Archive files or folders.") var paths: [String] = []
        @Option(help: "A media store folder (media.directory): every blob re-hashed against its name.") var media: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            if let media {
                guard FileManager.default.fileExists(atPath: media) else { throw ValidationError("--media: \(media): no such folder") }
                let report = MediaStoreVerifier.verify(directory: media)
                if json { printJSON(report) } else { print(report.text) }
                if !report.isClean { throw ExitCode(ExitStatus.failure) }
                if paths.isEmpty { return }
            }
            guard !paths.isEmpty else { throw ValidationError("give archive files or folders, or --media FOLDER") }
            let reports = ArchiveVerifier.verify(try archiveFiles(paths))
            if json { printJSON(reports) } else { reports.forEach { print($0.text) } }
            let events = reports.map(\.events).reduce(0, +)
            if !json { print("\(reports.count) files, \(events) valid events, \(reports.filter { !$0.isClean }.count) damaged") }
            if reports.contains(where: { !$0.isClean }) { throw ExitCode(ExitStatus.failure) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List segments: events, bytes, compression ratio, time range.")

        @Argument(help: "Archive folders: several (a cluster's agents each write one) are merged, an event in two counted once.")
        var directories: [String]
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let folders = try directories.map { try requireFolder($0) }
            let (infos, distinct) = try ArchiveCatalog.segments(in: folders)
            let typed = Dictionary(
                zip(folders.map(\.path), directories.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }), uniquingKeysWith: { a, _ in a })
            if json { printJSON(infos); return }
            for s in infos {
                let range = s.oldest.map { "\(Self.date($0)) … \(Self.date(s.newest!))" } ?? "-"
                // As the folder was given on the command line.
                let name = s.folder.map { (typed[$0] ?? $0) + "/" + s.name } ?? s.name
                print("\(name)\(s.sealed ? "" : " (open)")  \(s.events) events  \(s.bytesCompressed) B  ratio \(String(format: "%.2f", s.ratio))  \(range)")
            }
            let total = infos.map(\.events).reduce(0, +), bytes = infos.map(\.bytesCompressed).reduce(0, +)
            let merged = folders.count > 1 ? " in \(folders.count) folders, \(distinct) distinct (\(total - distinct) in more than one segment)" : ""
            print("\(infos.count) segments, \(total) events, \(bytes) bytes\(merged)")
        }

        static func date(_ t: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(t)))
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write one archive of every event the ledger holds (for users who start with archiving off).",
            discussion: "The ledger keeps each event's received text, so no relay is asked. --out ending in .jsonl writes plain JSONL; otherwise zstd."
        )

        @OptionGroup var options: ConfigOptions
        @Option(help: "Oldest created_at (unix seconds or ISO 8601 date).") var since: String?
        @Option(help: "Newest created_at (unix seconds or ISO 8601 date).") var until: String?
        @Option(help: "Output file (.jsonl.zst or .jsonl).") var out: String

        /// Checked while parsing, so that a mistake is shown with this subcommand's usage.
        func validate() throws {
            _ = try since.map { try parseTime($0, "--since") }
            _ = try until.map { try parseTime($0, "--until") }
        }

        func run() async throws {
            let configuration = try options.load()
            let since = try since.map { try parseTime($0, "--since") }, until = try until.map { try parseTime($0, "--until") }
            let count = try LedgerExport.export(configuration: configuration, to: URL(fileURLWithPath: out), since: since, until: until)
            print("exported \(count) events to \(out)")
        }
    }
}

func parseTime(_ text: String, _ flag: String) throws -> Int64 {
    guard let t = TimeParsing.parse(text) else { throw ValidationError("\(flag): not unix seconds or an ISO 8601 date") }
    return t
}
