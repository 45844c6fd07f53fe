/// One line of an archive file, numbered from 1 as a text editor would.
public struct ArchiveLine: Sendable {
    public let lineNumber: Int
    public let text: String
}

/// Damage found while reading a file: where it is and what it is.
public struct ArchiveReadProblem: Sendable, Codable, Equatable, CustomStringConvertible {
    public var file: String
    /// zstd frame number (from 0), nil for plain files.
    public var frame: Int?
    /// Byte offset in the file where the damage starts.
    public var offset: Int
    public var reason: String

    public var description: String {
        "\(file): \(frame.map { "frame \($0) at byte \(offset)" } ?? "byte \(offset)"): \(reason)"
    }
}
