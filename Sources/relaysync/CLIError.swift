import ArgumentParser
import Foundation
import SyncAgent

/// The exit codes, used the same way by every subcommand (docs/cli.md).
enum ExitStatus {
    static let ok: Int32 = 0
    /// The work ran and found or met a problem: archive damage, an audit gap, events not restored.
    static let failure: Int32 = 1
    /// A relay failed: could not be reached, backfilled, compared or restored into.
    static let relayFailed: Int32 = 2
    /// EX_USAGE: the command line is wrong (argument-parser's ValidationError uses it too).
    static let usage: Int32 = 64
    /// EX_CONFIG: the config file or a key file is missing, unreadable or wrong.
    static let config: Int32 = 78
}

/// A mistake reported as one line, `Error: …`, with its exit code and without usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    static func usage(_ message: String) -> CLIError { CLIError(description: message, exitCode: ExitStatus.usage) }
    static func config(_ message: String) -> CLIError { CLIError(description: message, exitCode: ExitStatus.config) }
    static func failure(_ message: String) -> CLIError { CLIError(description: message, exitCode: ExitStatus.failure) }

    /// How an error thrown by a command is reported; nil leaves it to argument-parser (help,
    /// `ValidationError` with the usage, `ExitCode`, and anything else as `Error: …` with exit 1).
    static func classify(_ error: any Error) -> CLIError? {
        switch error {
        case let e as CLIError: return e
        case let e as ConfigError: return .config(e.description)
        case let e as KeyFileError: return CLIError(description: e.description, exitCode: e.exitCode)
        case let e as RestoreError: return CLIError(description: e.description, exitCode: ExitStatus.relayFailed)
        case is ValidationError, is ExitCode, is CleanExit: return nil
        default: return fileError(error).map(CLIError.failure)
        }
    }

    /// Foundation's file errors (`Error Domain=NSCocoaErrorDomain Code=260 …`) in words:
    /// `/srv/archive: no such file or folder`.
    static func fileError(_ error: any Error) -> String? {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain else { return nil }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        guard let path else { return nil }
        let reason: String
        switch ns.code {
        case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: reason = "no such file or folder"
        case CocoaError.fileReadNoPermission.rawValue, CocoaError.fileWriteNoPermission.rawValue: reason = "permission denied"
        case CocoaError.fileWriteOutOfSpace.rawValue: reason = "no space left on the device"
        case CocoaError.fileWriteVolumeReadOnly.rawValue: reason = "read-only file system"
        default:
            if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                let text = String(cString: strerror(Int32(underlying.code)))
                reason = text.prefix(1).lowercased() + text.dropFirst()
            } else {
                reason = ns.code >= 512 ? "cannot be written" : "cannot be read"
            }
        }
        return "\(path): \(reason)"
    }
}

/// A folder named on the command line, or a one-line usage error saying why it is not one.
func requireFolder(_ path: String) throws -> URL {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CLIError.usage("\(path): no such folder") }
    guard isDir.boolValue else { throw CLIError.usage("\(path): not a folder") }
    guard FileManager.default.isReadableFile(atPath: path) else { throw CLIError.usage("\(path): permission denied") }
    return URL(fileURLWithPath: path)
}
