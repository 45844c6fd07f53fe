import Foundation

/// Where the project and its test-peer virtual environment are.
public enum PeerEnvironment {
    /// The repository root, found from this source file's location.
    public static func repoRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `RELAYSYNC_VENV`, else `<repo>/.venv-peers`.
    public static func venv() throws -> URL {
        let url =
            ProcessInfo.processInfo.environment["RELAYSYNC_VENV"].map { URL(fileURLWithPath: $0) }
            ?? repoRoot().appendingPathComponent(".venv-peers")
        guard FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("bin/python").path) else {
            throw PeerError("no test-peer virtual environment at \(url.path): run scripts/bootstrap")
        }
        return url
    }

    /// A file of `scripts/peers/`.
    public static func script(_ name: String) -> URL {
        repoRoot().appendingPathComponent("scripts/peers/\(name)")
    }
}

public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
