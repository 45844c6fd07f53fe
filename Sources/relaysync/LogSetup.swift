import Foundation
import Logging
import NostrCore
import SyncAgent
import Synchronization

enum LogSetup {
    private static let bootstrapped = Mutex(false)
    /// The format every handler writes in: swift-log's system is bootstrapped once per process, so
    /// a SIGHUP that changes `log_format` changes this rather than the handlers.
    static let format = Mutex(LogFormat.text)

    /// The executable is the one place that configures logging; libraries take this logger.
    /// `text` writes swift-log's usual line; `json` one object a line (`StderrLogHandler`).
    static func makeLogger(level: Logger.Level, format: LogFormat = .text) -> Logger {
        Self.format.withLock { $0 = format }
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in
                var handler = StderrLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "relaysync")
        logger.logLevel = level
        return logger
    }

    /// `log_level` as read from the config (validated there).
    static func makeLogger(level: String, format: LogFormat = .text) -> Logger {
        makeLogger(level: Logger.Level(rawValue: level) ?? .info, format: format)
    }
}

/// stderr, shared by log lines and the live progress line: a log line clears the progress line,
/// is written, and the progress line is drawn again below it, so neither garbles the other.
final class StderrWriter: Sendable {
    static let shared = StderrWriter()

    /// A progress line is drawn only on a terminal (not `TERM=dumb`); elsewhere progress is logged.
    let isTerminal: Bool = isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    private let status = Mutex<String?>(nil)

    func write(_ text: String) {
        status.withLock { line in
            if line != nil { Self.raw("\r\u{1B}[K") }
            Self.raw(text)
            if let line { Self.raw(line) }
        }
    }

    /// Replaces the progress line; nil clears it. Only ever called when `isTerminal`.
    func setStatus(_ text: String?) {
        status.withLock { line in
            let fitted = text.map { Self.fit($0, columns: Self.columns()) }
            guard fitted != line else { return }
            Self.raw("\r\u{1B}[K" + (fitted ?? ""))
            line = fitted
        }
    }

    /// A line longer than the terminal would wrap, and `\r` would then redraw only its last row.
    static func fit(_ text: String, columns: Int) -> String {
        let width = max(20, columns - 1)
        return text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    static func columns() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 80
    }

    private static func raw(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            bytes = bytes.dropFirst(n)
        }
    }
}

/// One log line a statement on stderr (through `StderrWriter`), as `text` (swift-log's
/// `StreamLogHandler` line: `2025-01-31T12:00:00+0000 info relaysync: relay.url=… [SyncAgent] message`)
/// or `json`: one object a line for journald and log shippers, `timestamp` (UTC, milliseconds),
/// `level`, `label`, `source` (the module that logged), `message`, then the metadata flattened as
/// top-level fields (`relay.url`, `event.id`, `error`; nested dictionaries as `a.b`), sorted. A
/// metadata key that would shadow one of those is written as `metadata.<key>`.
struct StderrLogHandler: LogHandler {
    let label: String
    /// Fixed for a handler made with one (tests); nil follows `LogSetup.format`.
    let fixedFormat: LogFormat?
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider

    init(label: String, format: LogFormat? = nil) {
        self.label = label
        self.fixedFormat = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = LogFields.merge(base: metadata, provider: metadataProvider, explicit: event.metadata, error: event.error)
        switch fixedFormat ?? LogSetup.format.withLock({ $0 }) {
        case .text:
            let pretty = fields.isEmpty ? "" : " " + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            StderrWriter.shared.write(
                "\(LogFields.localTimestamp()) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(event.source)] \(event.message)\n")
        case .json:
            StderrWriter.shared.write(
                Self.line(
                    timestamp: LogFields.utcTimestamp(), level: event.level, label: label, source: event.source,
                    message: event.message.description, metadata: fields) + "\n")
        }
    }

    static let reserved: Set<String> = ["timestamp", "level", "label", "source", "message"]

    static func line(timestamp: String, level: Logger.Level, label: String, source: String, message: String, metadata: Logger.Metadata) -> String {
        var flat: [(String, JSONValue)] = []
        func flatten(_ key: String, _ value: Logger.Metadata.Value) {
            switch value {
            case let .string(s): flat.append((key, .string(s)))
            case let .stringConvertible(c): flat.append((key, .string(c.description)))
            case let .array(items): flat.append((key, .array(items.map { .string($0.description) })))
            case let .dictionary(d): for (k, v) in d { flatten("\(key).\(k)", v) }
            }
        }
        for (key, value) in metadata { flatten(reserved.contains(key) ? "metadata.\(key)" : key, value) }
        flat.sort { $0.0 < $1.0 }
        let head: [(String, JSONValue)] = [
            ("timestamp", .string(timestamp)), ("level", .string(level.rawValue)),
            ("label", .string(label)), ("source", .string(source)), ("message", .string(message)),
        ]
        return JSONValue.object(head + flat).serialized
    }
}

enum LogFields {
    /// Handler metadata, then the provider's, then the statement's; an attached error as `error`.
    static func merge(base: Logger.Metadata, provider: Logger.MetadataProvider?, explicit: Logger.Metadata?, error: (any Error)?) -> Logger.Metadata {
        var out = base
        if let provided = provider?.get(), !provided.isEmpty { out.merge(provided) { $1 } }
        if let explicit, !explicit.isEmpty { out.merge(explicit) { $1 } }
        if let error, out["error"] == nil { out["error"] = "\(error)" }
        return out
    }

    static func localTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return format(&parts, "%Y-%m-%dT%H:%M:%S%z")
    }

    /// `2025-01-31T12:00:00.123Z`.
    static func utcTimestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return format(&parts, "%Y-%m-%dT%H:%M:%S") + String(format: ".%03dZ", Int(spec.tv_nsec / 1_000_000))
    }

    private static func format(_ parts: inout tm, _ pattern: String) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
