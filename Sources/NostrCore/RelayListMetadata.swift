/// A NIP-65 relay list (kind 10002): where a user publishes (`write`) and
/// where they read. An `r` tag without a marker means both.
public struct RelayListMetadata: Sendable, Equatable {
    public static let kind = Kind.relayList
    public var write: [String]
    public var read: [String]

    public init(write: [String], read: [String]) {
        self.write = write
        self.read = read
    }

    /// nil when `event` is not a kind-10002 event.
    public init?(event: Event) {
        guard event.kind == Self.kind else { return nil }
        var write: [String] = [], read: [String] = []
        for tag in event.tags where tag.count >= 2 && tag[0] == "r" {
            let url = tag[1]
            let marker = tag.count >= 3 ? tag[2] : ""
            if marker != "read", !write.contains(url) { write.append(url) }
            if marker != "write", !read.contains(url) { read.append(url) }
        }
        self.init(write: write, read: read)
    }
}
