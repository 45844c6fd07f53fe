import Foundation
import NostrCore
import RelayClient

/// Walks the parsed config, converting each key and naming its path on error.
struct ConfigReader {
    let root: JSONValue
    let base: URL

    func path(_ text: String) -> URL {
        text.hasPrefix("/")
            ? URL(fileURLWithPath: text).standardizedFileURL
            : base.appendingPathComponent(text).standardizedFileURL
    }

    mutating func read() throws(ConfigError) -> SyncConfiguration {
        let pubkeys = try readPubkeys()
        let relays = try readRelays()
        let kinds = try readKinds()
        let since = try readTime(root["since"], key: "since")
        let ledger = try readLedger()
        let archive = try readArchive()
        let keyFile = try string(root["secret_key_file"], key: "secret_key_file").map(path)
        let level = try string(root["log_level"], key: "log_level") ?? "info"
        guard SyncConfiguration.logLevels.contains(level) else {
            throw ConfigError(key: "log_level", reason: "must be one of \(SyncConfiguration.logLevels.joined(separator: ", ")), got \"\(level)\"")
        }
        let formatText = try string(root["log_format"], key: "log_format") ?? "text"
        guard let format = LogFormat(rawValue: formatText) else {
            throw ConfigError(key: "log_format", reason: "must be text or json, got \"\(formatText)\"")
        }
        let discover = try readDiscover()
        if relays.filter({ $0.role.isReadable }).isEmpty && !discover.enabled {
            throw ConfigError(key: "relays", reason: "no relay to read from: add one with role \"primary\" or \"both\", or enable discover")
        }
        if discover.enabled && discover.indexers.isEmpty && relays.filter({ $0.role.isReadable }).isEmpty {
            throw ConfigError(key: "discover.indexers", reason: "discovery needs at least one indexer or readable relay to ask for relay lists")
        }
        var configuration = SyncConfiguration(
            pubkeys: pubkeys, relays: relays, kinds: kinds, since: since, ledgerPath: ledger.sqlite,
            archive: archive, secretKeyFile: keyFile, logLevel: level, discover: discover, baseDirectory: base)
        configuration.reconcile = try readReconcile()
        configuration.logFormat = format
        configuration.metrics = try readMetrics()
        configuration.inbox = try readInbox()
        configuration.filters = try readFilters(defaultSince: since)
        configuration.media = try readMedia()
        configuration.postgresLedger = ledger.postgres
        configuration.leasePeriod = try readCluster()
        return configuration
    }

    func readPubkeys() throws(ConfigError) -> [String] {
        guard case let .array(items)? = root["pubkeys"] else {
            throw ConfigError(key: "pubkeys", reason: "required: an array of npub1… or 64-hex public keys")
        }
        guard !items.isEmpty else { throw ConfigError(key: "pubkeys", reason: "must name at least one public key") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case let .string(s) = item else { throw ConfigError(key: "pubkeys[\(i)]", reason: "must be a string") }
            do {
                let hex = try NIP19.pubkeyHex(s)
                if !out.contains(hex) { out.append(hex) }
            } catch {
                throw ConfigError(key: "pubkeys[\(i)]", reason: "not an npub or 64-hex public key (\(error))")
            }
        }
        return out
    }

    func readRelays() throws(ConfigError) -> [SyncConfiguration.RelayEntry] {
        guard let value = root["relays"] else { throw ConfigError(key: "relays", reason: "required: an array of {\"url\", \"role\"} objects") }
        guard case let .array(items) = value else { throw ConfigError(key: "relays", reason: "must be an array") }
        var out: [SyncConfiguration.RelayEntry] = []
        for (i, item) in items.enumerated() {
            let at = "relays[\(i)]"
            guard case let .object(fields) = item else { throw ConfigError(key: at, reason: "must be an object with url and role") }
            for (k, _) in fields where !["url", "role", "auth", "tls_ca_file", "scopes"].contains(k) {
                throw ConfigError(key: "\(at).\(k)", reason: "unknown key (expected url, role, auth, tls_ca_file, scopes)")
            }
            guard let raw = try string(item["url"], key: "\(at).url") else { throw ConfigError(key: "\(at).url", reason: "required") }
            guard let url = RelayURL(raw) else { throw ConfigError(key: "\(at).url", reason: "not a ws:// or wss:// URL") }
            let roleText = try string(item["role"], key: "\(at).role") ?? "primary"
            guard let role = RelayRole(rawValue: roleText) else {
                throw ConfigError(key: "\(at).role", reason: "must be primary, backup or both, got \"\(roleText)\"")
            }
            var auth = false
            if let a = item["auth"] {
                guard case let .bool(b) = a else { throw ConfigError(key: "\(at).auth", reason: "must be true or false") }
                auth = b
            }
            var caFile: URL?
            var trustRoots: RelayTrustRoots?
            if let file = try string(item["tls_ca_file"], key: "\(at).tls_ca_file") {
                let ca = path(file)
                do { trustRoots = try RelayTrustRoots(pemFile: ca.path) } catch {
                    throw ConfigError(key: "\(at).tls_ca_file", reason: "\(file): \(error.reason)")
                }
                caFile = ca
            }
            if out.contains(where: { $0.url == url }) { throw ConfigError(key: "\(at).url", reason: "\(url) is listed twice") }
            var entry = SyncConfiguration.RelayEntry(url: url, role: role, auth: auth, tlsCAFile: caFile, trustRoots: trustRoots)
            entry.scopes = try readRelayScopes(item["scopes"], key: "\(at).scopes")
            out.append(entry)
        }
        return out
    }

    func readKinds() throws(ConfigError) -> [Int]? {
        guard let value = root["kinds"], value != .null else { return nil }
        guard case let .array(items) = value else { throw ConfigError(key: "kinds", reason: "must be null or an array of integers") }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case let .int(k) = item, Event.kindRange.contains(Int(k)) else {
                throw ConfigError(key: "kinds[\(i)]", reason: "must be an integer 0...65535")
            }
            out.append(Int(k))
        }
        return out
    }

    /// Unix seconds, or an ISO 8601 date (`2024-01-31` or `2024-01-31T12:00:00Z`).
    func readTime(_ value: JSONValue?, key: String) throws(ConfigError) -> Int64? {
        guard let value, value != .null else { return nil }
        if case let .int(t) = value, t >= 0 { return t }
        if case let .string(s) = value, let t = TimeParsing.parse(s) { return t }
        throw ConfigError(key: key, reason: "must be null, unix seconds, or an ISO 8601 date such as 2024-01-31T00:00:00Z")
    }

    func readArchive() throws(ConfigError) -> SyncConfiguration.ArchiveSettings? {
        guard let value = root["archive"], value != .null else { return nil }
        guard case let .object(fields) = value else { throw ConfigError(key: "archive", reason: "must be null or an object with directory") }
        for (k, _) in fields where !["directory", "rotate_bytes", "rotate_seconds", "compression_level", "enabled"].contains(k) {
            throw ConfigError(key: "archive.\(k)", reason: "unknown key (expected directory, rotate_bytes, rotate_seconds, compression_level, enabled)")
        }
        if case .bool(false)? = value["enabled"] { return nil }
        guard let dir = try string(value["directory"], key: "archive.directory") else {
            throw ConfigError(key: "archive.directory", reason: "required when archive is set")
        }
        var settings = SyncConfiguration.ArchiveSettings(directory: path(dir))
        if let v = try int(value["rotate_bytes"], key: "archive.rotate_bytes", range: 1024...(1 << 40)) { settings.rotateBytes = v }
        if let v = try int(value["rotate_seconds"], key: "archive.rotate_seconds", range: 1...(86_400 * 366)) { settings.rotateAge = .seconds(v) }
        if let v = try int(value["compression_level"], key: "archive.compression_level", range: 1...19) { settings.compressionLevel = v }
        return settings
    }

    func readDiscover() throws(ConfigError) -> SyncConfiguration.DiscoverSettings {
        var d = SyncConfiguration.DiscoverSettings()
        guard let value = root["discover"], value != .null else { return d }
        guard case let .object(fields) = value else { throw ConfigError(key: "discover", reason: "must be null or an object") }
        let known = ["enabled", "indexers", "refresh", "max_relays_per_pubkey", "allow_private_addresses", "auth"]
        for (k, _) in fields where !known.contains(k) {
            throw ConfigError(key: "discover.\(k)", reason: "unknown key (expected \(known.joined(separator: ", ")))")
        }
        for key in ["enabled", "allow_private_addresses", "auth"] {
            guard let v = value[key] else { continue }
            guard case let .bool(b) = v else { throw ConfigError(key: "discover.\(key)", reason: "must be true or false") }
            switch key {
            case "enabled": d.enabled = b
            case "auth": d.auth = b
            default: d.allowPrivateAddresses = b
            }
        }
        if case let .array(items)? = value["indexers"] {
            for (i, item) in items.enumerated() {
                guard case let .string(s) = item, let url = RelayURL(s) else {
                    throw ConfigError(key: "discover.indexers[\(i)]", reason: "not a ws:// or wss:// URL")
                }
                d.indexers.append(url)
            }
        }
        if let r = value["refresh"] {
            guard case let .string(s) = r, let duration = TimeParsing.duration(s) else {
                throw ConfigError(key: "discover.refresh", reason: "must be a duration such as \"6h\", \"30m\" or \"3600s\"")
            }
            d.refresh = duration
        }
        if let v = try int(value["max_relays_per_pubkey"], key: "discover.max_relays_per_pubkey", range: 1...64) { d.maxRelaysPerPubkey = v }
        return d
    }

    /// `"metrics": {"listen": "127.0.0.1:9464"}`; `[::1]:9464` for IPv6.
    func readMetrics() throws(ConfigError) -> SyncConfiguration.MetricsListen? {
        guard let value = root["metrics"], value != .null else { return nil }
        guard case let .object(fields) = value else { throw ConfigError(key: "metrics", reason: "must be null or an object with listen") }
        for (k, _) in fields where k != "listen" { throw ConfigError(key: "metrics.\(k)", reason: "unknown key (expected listen)") }
        guard let listen = try string(value["listen"], key: "metrics.listen") else { return nil }
        let host: Substring, port: Substring
        if listen.hasPrefix("["), let close = listen.firstIndex(of: "]") {
            host = listen[listen.index(after: listen.startIndex)..<close]
            port = listen[listen.index(after: close)...].drop { $0 == ":" }
        } else if let colon = listen.lastIndex(of: ":") {
            host = listen[..<colon]
            port = listen[listen.index(after: colon)...]
        } else {
            throw ConfigError(key: "metrics.listen", reason: "must be HOST:PORT, such as 127.0.0.1:9464")
        }
        guard !host.isEmpty, let p = Int(port), (0...65535).contains(p) else {
            throw ConfigError(key: "metrics.listen", reason: "must be HOST:PORT with a port 0-65535, got \"\(listen)\"")
        }
        return .init(host: String(host), port: p)
    }

    func readReconcile() throws(ConfigError) -> SyncConfiguration.ReconcileSettings {
        var r = SyncConfiguration.ReconcileSettings()
        guard let value = root["reconcile"], value != .null else { return r }
        guard case let .object(fields) = value else { throw ConfigError(key: "reconcile", reason: "must be null or an object") }
        for (k, _) in fields where !["enabled", "interval", "window_items", "negentropy"].contains(k) {
            throw ConfigError(key: "reconcile.\(k)", reason: "unknown key (expected enabled, interval, window_items, negentropy)")
        }
        for key in ["enabled", "negentropy"] {
            guard let v = value[key] else { continue }
            guard case let .bool(b) = v else { throw ConfigError(key: "reconcile.\(key)", reason: "must be true or false") }
            if key == "enabled" { r.enabled = b } else { r.negentropy = b }
        }
        if let i = value["interval"] {
            guard case let .string(s) = i, let duration = TimeParsing.duration(s) else {
                throw ConfigError(key: "reconcile.interval", reason: "must be a duration such as \"15m\", \"1h\" or \"30s\"")
            }
            r.interval = duration
        }
        if let v = try int(value["window_items"], key: "reconcile.window_items", range: 1_000...5_000_000) { r.windowItems = v }
        return r
    }

    func string(_ value: JSONValue?, key: String) throws(ConfigError) -> String? {
        guard let value, value != .null else { return nil }
        guard case let .string(s) = value else { throw ConfigError(key: key, reason: "must be a string") }
        return s
    }

    func int(_ value: JSONValue?, key: String, range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let value, value != .null else { return nil }
        guard case let .int(i) = value, range.contains(Int(i)) else {
            throw ConfigError(key: key, reason: "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }
}
