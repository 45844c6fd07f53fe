import Foundation
import NostrCore

/// A blob an event points at: its hash, and where the event says it is.
public struct BlobReference: Sendable, Hashable {
    public var hash: BlobHash
    /// nil when the event names only the hash (an `imeta`/NIP-94 `x` without a `url`).
    public var url: String?
    public var size: Int64?
    public var type: String?

    public init(hash: BlobHash, url: String?, size: Int64? = nil, type: String? = nil) {
        self.hash = hash
        self.url = url
        self.size = size
        self.type = type
    }
}

/// Finds the blobs an event references: `imeta` tags (NIP-92: `url`, `x`, `m`, `size`), NIP-94
/// tags on kind 1063, and http(s) URLs in the content or in tags whose last path segment is 64 hex
/// characters with an optional extension (the Blossom convention). Pure, bounded: at most
/// `maxPerEvent` references and URLs of at most `maxURLLength` characters.
public enum BlobReferenceExtractor {
    public static let maxPerEvent = 64
    public static let maxURLLength = 2048

    public static func references(in event: Event) -> [BlobReference] {
        var found: [BlobReference] = []
        func add(_ r: BlobReference) {
            guard found.count < maxPerEvent else { return }
            if let i = found.firstIndex(where: { $0.hash == r.hash && ($0.url == r.url || r.url == nil) }) {
                found[i].size = found[i].size ?? r.size
                found[i].type = found[i].type ?? r.type
                return
            }
            // A bare hash adds nothing beside a URL for the same blob.
            if r.url != nil, let i = found.firstIndex(where: { $0.hash == r.hash && $0.url == nil }) {
                var merged = r
                merged.size = r.size ?? found[i].size
                merged.type = r.type ?? found[i].type
                found[i] = merged
                return
            }
            found.append(r)
        }
        for tag in event.tags where tag.first == "imeta" {
            var fields: [String: String] = [:]
            for entry in tag.dropFirst() {
                guard let space = entry.firstIndex(of: " ") else { continue }
                let key = String(entry[..<space])
                if fields[key] == nil { fields[key] = String(entry[entry.index(after: space)...]) }
            }
            if let r = reference(url: fields["url"], x: fields["x"], size: fields["size"], type: fields["m"]) { add(r) }
        }
        if event.kind == Kind.fileMetadata {
            func value(_ name: String) -> String? { event.tags.first { $0.count >= 2 && $0[0] == name }?[1] }
            if let r = reference(url: value("url"), x: value("x"), size: value("size"), type: value("m")) { add(r) }
        }
        for url in urls(in: event.content) { if let h = hashInURL(url) { add(BlobReference(hash: h, url: url)) } }
        for tag in event.tags where tag.first != "imeta" {
            for v in tag.dropFirst() where v.hasPrefix("http://") || v.hasPrefix("https://") {
                if let h = hashInURL(v), v.utf8.count <= maxURLLength { add(BlobReference(hash: h, url: v)) }
            }
        }
        return found
    }

    /// The servers of a kind 10063 list (BUD-03), http(s) only, in the author's order.
    public static func serverList(in event: Event) -> [String] {
        guard event.kind == Kind.blossomServerList else { return [] }
        var servers: [String] = []
        for tag in event.tags where tag.count >= 2 && tag[0] == "server" && servers.count < 32 {
            let s = tag[1].trimmingCharacters(in: .whitespaces)
            guard s.utf8.count <= maxURLLength, let c = URLComponents(string: s), c.scheme == "http" || c.scheme == "https", c.host?.isEmpty == false
            else { continue }
            let base = s.hasSuffix("/") ? String(s.dropLast()) : s
            if !servers.contains(base) { servers.append(base) }
        }
        return servers
    }

    /// The hash a Blossom-style URL names: its last path segment, 64 hex with an optional extension.
    public static func hashInURL(_ url: String) -> BlobHash? {
        guard let c = URLComponents(string: url), c.scheme == "http" || c.scheme == "https", c.host?.isEmpty == false else { return nil }
        guard let last = c.path.split(separator: "/").last else { return nil }
        let name = last.split(separator: ".", maxSplits: 1).first ?? last
        return BlobHash(name)
    }

    private static func reference(url: String?, x: String?, size: String?, type: String?) -> BlobReference? {
        let cleanURL = url.flatMap { u -> String? in
            guard u.utf8.count <= maxURLLength, let c = URLComponents(string: u), c.scheme == "http" || c.scheme == "https" else { return nil }
            return u
        }
        guard let hash = x.flatMap({ BlobHash($0) }) ?? cleanURL.flatMap(hashInURL) else { return nil }
        let bytes = size.flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
        let mime = type.flatMap { $0.utf8.count <= 128 && $0.contains("/") ? $0 : nil }
        return BlobReference(hash: hash, url: cleanURL, size: bytes, type: mime)
    }

    /// http(s) URLs in free text: from the scheme to the next white space or closing punctuation.
    static func urls(in text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while out.count < maxPerEvent, let r = rest.range(of: "http", options: .literal) {
            let tail = rest[r.lowerBound...]
            guard tail.hasPrefix("http://") || tail.hasPrefix("https://") else {
                rest = rest[r.upperBound...]
                continue
            }
            var end = tail.firstIndex { $0.isWhitespace || "\"'<>()[]{}".contains($0) } ?? tail.endIndex
            // Trailing sentence punctuation is not part of the URL.
            while end > tail.startIndex, let p = tail[..<end].last, ".,;:!?".contains(p) { end = tail.index(before: end) }
            let candidate = String(tail[..<end])
            if candidate.utf8.count <= maxURLLength { out.append(candidate) }
            rest = tail[end...]
            if rest.isEmpty { break }
            if end == tail.startIndex { rest = rest.dropFirst() }
        }
        return out
    }
}
