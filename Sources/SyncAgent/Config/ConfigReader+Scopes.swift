import Foundation
import NostrCore

extension ConfigReader {
    /// `"inbox": {"enabled": true, "kinds": [4, 1059], "keys": {"npub1…": "keys/alice.key"}}`.
    func readInbox() throws(ConfigError) -> SyncConfiguration.InboxSettings {
        var inbox = SyncConfiguration.InboxSettings()
        guard let value = root["inbox"], value != .null else { return inbox }
        guard case let .object(fields) = value else { throw ConfigError(key: "inbox", reason: "must be null or an object") }
        for (k, _) in fields where !["enabled", "kinds", "keys"].contains(k) {
            throw ConfigError(key: "inbox.\(k)", reason: "unknown key (expected enabled, kinds, keys)")
        }
        inbox.enabled = true
        if let v = value["enabled"] {
            guard case let .bool(b) = v else { throw ConfigError(key: "inbox.enabled", reason: "must be true or false") }
            inbox.enabled = b
        }
        if let v = value["kinds"], v != .null {
            inbox.kinds = try kindList(v, key: "inbox.kinds")
            guard !inbox.kinds.isEmpty else { throw ConfigError(key: "inbox.kinds", reason: "must name at least one kind (default [4, 1059])") }
        }
        if let v = value["keys"], v != .null {
            guard case let .object(entries) = v else { throw ConfigError(key: "inbox.keys", reason: "must be an object: {\"npub1…\": \"path/to/key\"}") }
            let pubkeys = try readPubkeys()
            for (name, file) in entries {
                let at = "inbox.keys.\(name)"
                let hex: String
                do { hex = try NIP19.pubkeyHex(name) } catch { throw ConfigError(key: at, reason: "not an npub or 64-hex public key (\(error))") }
                guard pubkeys.contains(hex) else { throw ConfigError(key: at, reason: "not one of the configured pubkeys") }
                guard case let .string(path) = file else { throw ConfigError(key: at, reason: "must be the path of a key file") }
                inbox.keyFiles[hex] = self.path(path)
                inbox.keySources[hex] = at
            }
        }
        return inbox
    }

    /// `"filters": [{"kinds": [1], "#t": ["nostr"]}, ...]`: each a scope of its own.
    func readFilters(defaultSince: Int64?) throws(ConfigError) -> [Filter] {
        guard let value = root["filters"], value != .null else { return [] }
        guard case let .array(items) = value else { throw ConfigError(key: "filters", reason: "must be an array of NIP-01 filters") }
        var out: [Filter] = []
        for (i, item) in items.enumerated() {
            let at = "filters[\(i)]"
            guard case let .object(fields) = item else { throw ConfigError(key: at, reason: "must be a NIP-01 filter object") }
            var filter = Filter()
            for (key, v) in fields {
                switch key {
                case "kinds": filter.kinds = try kindList(v, key: "\(at).kinds")
                case "authors":
                    let names = try strings(v, key: "\(at).authors")
                    filter.authors = try names.enumerated().map { (j, name) throws(ConfigError) -> String in
                        do { return try NIP19.pubkeyHex(name) } catch {
                            throw ConfigError(key: "\(at).authors[\(j)]", reason: "not an npub or 64-hex public key (\(error))")
                        }
                    }
                case "since": filter.since = try readTime(v, key: "\(at).since")
                case "ids":
                    throw ConfigError(key: "\(at).ids", reason: "not allowed: a scope is a set that grows; fixed events belong in an archive export")
                case "until":
                    throw ConfigError(key: "\(at).until", reason: "not allowed: a scope is kept up to date, so it has no end (use since for its start)")
                case "limit":
                    throw ConfigError(key: "\(at).limit", reason: "not allowed: a backup takes every matching event; the agent pages past relay caps itself")
                default:
                    guard key.hasPrefix("#"), key.count == 2, let letter = key.last, letter.isASCII, letter.isLetter else {
                        throw ConfigError(key: "\(at).\(key)", reason: "unknown key (expected kinds, authors, since, or a tag such as #t, #h, #e)")
                    }
                    filter.tags[String(letter)] = try strings(v, key: "\(at).\(key)")
                }
            }
            if filter.authors == nil && filter.tags.isEmpty {
                throw ConfigError(
                    key: at, reason: "names no authors and no tag: it would copy a relay's whole store (add authors or a tag such as #t)")
            }
            if filter.since == nil { filter.since = defaultSince }
            if out.contains(filter) { throw ConfigError(key: at, reason: "the same filter is listed twice") }
            out.append(filter)
        }
        return out
    }

    /// `relays[i].scopes`: "authors", "inbox", "filters", "filters[N]".
    func readRelayScopes(_ value: JSONValue?, key: String) throws(ConfigError) -> [String]? {
        guard let value, value != .null else { return nil }
        let names = try strings(value, key: key)
        let filterCount: Int
        if case let .array(filters)? = root["filters"] { filterCount = filters.count } else { filterCount = 0 }
        for (i, name) in names.enumerated() {
            let known =
                name == "authors" || name == "inbox" || name == "filters"
                || (name.hasPrefix("filters[") && name.hasSuffix("]") && Int(name.dropFirst(8).dropLast()).map { (0..<filterCount).contains($0) } == true)
            guard known else {
                throw ConfigError(
                    key: "\(key)[\(i)]", reason: "not a scope: expected authors, inbox, filters or filters[0]...filters[\(max(filterCount - 1, 0))]")
            }
        }
        return names
    }

    private func kindList(_ value: JSONValue, key: String) throws(ConfigError) -> [Int] {
        guard case let .array(items) = value else { throw ConfigError(key: key, reason: "must be an array of integers") }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case let .int(k) = item, Event.kindRange.contains(Int(k)) else {
                throw ConfigError(key: "\(key)[\(i)]", reason: "must be an integer 0...65535")
            }
            if !out.contains(Int(k)) { out.append(Int(k)) }
        }
        return out
    }

    private func strings(_ value: JSONValue, key: String) throws(ConfigError) -> [String] {
        guard case let .array(items) = value, !items.isEmpty else { throw ConfigError(key: key, reason: "must be a non-empty array of strings") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case let .string(s) = item, !s.isEmpty else { throw ConfigError(key: "\(key)[\(i)]", reason: "must be a non-empty string") }
            if !out.contains(s) { out.append(s) }
        }
        return out
    }
}
