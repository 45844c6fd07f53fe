import Foundation

/// Where and how the archive is written. Defaults follow the issue: 64 MiB
/// segments, one day at most, zstd level 3.
public struct ArchiveConfiguration: Sendable {
    public var directory: URL
    /// Seal the open segment once this many uncompressed bytes are in it.
    public var rotateBytes: Int = 64 << 20
    /// Seal the open segment once it is this old.
    public var rotateAge: Duration = .seconds(86_400)
    public var compressionLevel: Int = 3
    /// Lines per zstd frame when the caller does not flush sooner. Larger
    /// frames compress better; each frame is a unit of crash recovery.
    public var flushEveryLines: Int = 1_000
    /// Uncompressed bytes per frame at most, whatever the line count.
    public var flushEveryBytes: Int = 1 << 20
    /// The writing agent's id in a cluster: carried by every segment's name (sanitised for a
    /// file name), and the writer recovers and numbers only its own segments, so agents may share
    /// a folder. Nil for a single agent (names without it).
    public var agentID: String?

    public init(directory: URL) {
        self.directory = directory
    }
}
