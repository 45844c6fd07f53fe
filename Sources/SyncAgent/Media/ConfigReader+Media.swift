import Foundation
import Media
import NostrCore

extension ConfigReader {
    static let mediaKeys = [
        "directory", "backup_servers", "sources", "max_blob_bytes", "max_total_bytes", "allow_private_addresses", "connections_per_host",
        "concurrent_fetches", "fetch_timeout", "max_redirects", "max_attempts",
    ]

    /// `"media": {...}`: media backup is on when the object is present (docs/configuration.md).
    func readMedia() throws(ConfigError) -> MediaConfiguration? {
        guard let value = root["media"], value != .null else { return nil }
        guard case let .object(fields) = value else { throw ConfigError(key: "media", reason: "must be null or an object") }
        for (k, _) in fields where !Self.mediaKeys.contains(k) {
            throw ConfigError(key: "media.\(k)", reason: "unknown key (expected \(Self.mediaKeys.joined(separator: ", ")))")
        }
        var m = MediaConfiguration(directory: path(try string(value["directory"], key: "media.directory") ?? "data/media").path)
        m.backupServers = try httpURLs(value["backup_servers"], key: "media.backup_servers")
        m.sources = try httpURLs(value["sources"], key: "media.sources")
        if let v = try int(value["max_blob_bytes"], key: "media.max_blob_bytes", range: 1...(1 << 44)) { m.maxBlobBytes = Int64(v) }
        if let v = try int(value["max_total_bytes"], key: "media.max_total_bytes", range: 1...(1 << 50)) { m.maxTotalBytes = Int64(v) }
        if let v = value["allow_private_addresses"] {
            guard case let .bool(b) = v else { throw ConfigError(key: "media.allow_private_addresses", reason: "must be true or false") }
            m.allowPrivateAddresses = b
        }
        if let v = try int(value["connections_per_host"], key: "media.connections_per_host", range: 1...64) { m.connectionsPerHost = v }
        if let v = try int(value["concurrent_fetches"], key: "media.concurrent_fetches", range: 1...64) { m.concurrentFetches = v }
        if let v = try int(value["max_redirects"], key: "media.max_redirects", range: 0...20) { m.maxRedirects = v }
        if let v = try int(value["max_attempts"], key: "media.max_attempts", range: 1...100) { m.maxAttempts = v }
        if let t = value["fetch_timeout"] {
            guard case let .string(s) = t, let d = TimeParsing.duration(s) else {
                throw ConfigError(key: "media.fetch_timeout", reason: "must be a duration such as \"5m\" or \"30s\"")
            }
            m.fetchTimeout = d
        }
        return m
    }

    private func httpURLs(_ value: JSONValue?, key: String) throws(ConfigError) -> [String] {
        guard let value, value != .null else { return [] }
        guard case let .array(items) = value else { throw ConfigError(key: key, reason: "must be an array of http:// or https:// URLs") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case let .string(s) = item, let c = URLComponents(string: s), c.scheme == "http" || c.scheme == "https", c.host?.isEmpty == false,
                c.query == nil, c.fragment == nil
            else {
                throw ConfigError(key: "\(key)[\(i)]", reason: "not an http:// or https:// server URL")
            }
            let trimmed = s.hasSuffix("/") ? String(s.dropLast()) : s
            if !out.contains(trimmed) { out.append(trimmed) }
        }
        return out
    }
}
