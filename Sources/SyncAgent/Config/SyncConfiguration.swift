import Foundation
import LedgerPostgres
import Media
import NostrCore
import RelayClient

/// The agent's configuration, read from `sync.json` (see sync.example.json,
/// which documents every key). Relative paths resolve against the config
/// file's folder.
public struct SyncConfiguration: Sendable {
    public struct RelayEntry: Sendable, Equatable {
        public var url: RelayURL
        public var role: RelayRole
        /// Answer NIP-42 AUTH with the configured key.
        public var auth: Bool
        /// `tls_ca_file`: a PEM file of CA certificates trusted for this relay alone.
        public var tlsCAFile: URL? = nil
        /// The certificates read from `tlsCAFile` when the config was loaded.
        public var trustRoots: RelayTrustRoots? = nil
        /// `scopes`: which scopes are read from this relay ("authors", "inbox", "filters" or
        /// "filters[N]"); nil reads every one. A DM relay, say, is read for the inbox alone.
        public var scopes: [String]? = nil

        /// Whether `scope` is read from this relay.
        func reads(_ scope: ScopeName) -> Bool {
            guard let scopes else { return true }
            if case .filter = scope, scopes.contains("filters") { return true }
            return scopes.contains(scope.description)
        }
    }

    public struct ArchiveSettings: Sendable, Equatable {
        public var directory: URL
        /// Rotate the open segment at this many uncompressed bytes (default 64 MiB).
        public var rotateBytes: Int = 64 << 20
        /// Rotate the open segment at this age in seconds (default one day).
        public var rotateAge: Duration = .seconds(86_400)
        /// zstd level (default 3).
        public var compressionLevel: Int = 3
    }

    public struct DiscoverSettings: Sendable, Equatable {
        public var enabled = false
        public var indexers: [RelayURL] = []
        /// Seconds between relay-list refreshes (default 6 h).
        public var refresh: Duration = .seconds(21_600)
        /// Discovered relays kept per pubkey (default 8).
        public var maxRelaysPerPubkey = 8
        /// Read discovered relays on loopback, link-local and private addresses (default no:
        /// relay lists are other people's words). Configured relays are never refused.
        public var allowPrivateAddresses = false
        /// Answer discovered relays' NIP-42 AUTH with the configured key (default no).
        public var auth = false
    }

    /// Comparing each relay's set of events with the ledger's (NIP-77, or REQ windows).
    public struct ReconcileSettings: Sendable, Equatable {
        public var enabled = true
        /// Seconds between the daemon's reconciliations of a relay (default 15 minutes); it also
        /// reconciles at start (after the backfill) and after every reconnect.
        public var interval: Duration = .seconds(900)
        /// Ledger events per comparison window (default 20,000): bounds memory and each NIP-77
        /// session (LocalRelay refuses sessions over about 50,000 items; strfry's cap is 1,000,000).
        public var windowItems = 20_000
        /// Try NIP-77 first (default); false compares through COUNT and REQ only.
        public var negentropy = true
    }

    /// Events addressed to the configured pubkeys (`p`-tagged), whoever signed them.
    public struct InboxSettings: Sendable, Equatable {
        public var enabled = false
        /// Kinds backed up (default NIP-04 messages and NIP-59 gift wraps).
        public var kinds: [Int] = [Kind.encryptedDirectMessage, Kind.giftWrap]
        /// A recipient's own key, to answer NIP-42 AUTH as that recipient where its messages are
        /// released only to it (`inbox.keys`: pubkey → key file, mode 600).
        public var keyFiles: [String: URL] = [:]
        /// What named each key file, for messages (`inbox.keys.npub1…`).
        public var keySources: [String: String] = [:]
    }

    /// Where `/metrics` and `/healthz` are served.
    public struct MetricsListen: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    /// Authors to back up, as lowercase hex.
    public var pubkeys: [String]
    public var relays: [RelayEntry]
    /// nil means every kind.
    public var kinds: [Int]?
    /// Oldest `created_at` to back up; nil means all history.
    public var since: Int64?
    public var ledgerPath: URL
    /// A shared PostgreSQL ledger instead of the SQLite file at `ledgerPath` (`"ledger": "postgres://…"`).
    public var postgresLedger: PostgresLedgerSettings?
    /// `cluster.lease_period`: how long a lease lasts without renewal on a PostgreSQL ledger, so
    /// how soon a dead agent's work moves to another (30 s by default).
    public var leasePeriod: Duration = .seconds(30)
    /// nil when archiving is off.
    public var archive: ArchiveSettings?
    public var secretKeyFile: URL?
    public var logLevel: String
    /// `log_format`: text (default) or json, one object a line.
    public var logFormat: LogFormat = .text
    public var discover: DiscoverSettings
    public var reconcile = ReconcileSettings()
    /// `inbox`: what was sent to the configured pubkeys.
    public var inbox = InboxSettings()
    /// `filters`: extra scopes, each a NIP-01 filter (no `ids`, `until` or `limit`).
    public var filters: [Filter] = []
    /// nil when metrics are off (the default).
    public var metrics: MetricsListen?
    /// nil when media backup is off (no `"media"` object).
    public var media: MediaConfiguration?
    /// Folder of the config file, for messages.
    public var baseDirectory: URL
    /// What named `secretKeyFile`, for messages: the config key, or the command-line option
    /// (`--key-file`) that overrode it.
    public var secretKeyFileSource = "secret_key_file"

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    /// Environment variable that may hold the AUTH key instead of `secret_key_file`.
    public static let secretKeyEnvironment = "RELAYSYNC_SECRET_KEY"
    static let knownKeys: Set<String> = [
        "pubkeys", "relays", "kinds", "since", "ledger", "archive", "secret_key_file", "log_level", "log_format", "discover", "reconcile", "metrics",
        "inbox", "filters", "media", "cluster",
        "$comment",
    ]

    public var readableRelays: [RelayEntry] { relays.filter { $0.role.isReadable } }
    public var writableRelays: [RelayEntry] { relays.filter { $0.role.isWritable } }

    /// Reads and validates a config file. Every error names the file as given (`sync.json: …`):
    /// a missing file, a folder, an unreadable file, a JSON syntax error with line and column
    /// (`sync.json:3:14: expected ',' or '}'`), or the key path of a bad value.
    public static func load(path: String) throws(ConfigError) -> SyncConfiguration {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let text = try readText(path, kind: "config file").mapError { $0.inFile(path) }.get()
        do { return try parse(text, baseDirectory: url.deletingLastPathComponent()) } catch { throw error.inFile(path) }
    }

    /// A file's text, or why it cannot be had, in words a user acts on (no Foundation error codes).
    static func readText(_ path: String, kind: String) -> Result<String, ConfigError> {
        func fail(_ reason: String) -> Result<String, ConfigError> { .failure(ConfigError(key: "", reason: reason)) }
        var info = stat()
        guard stat(path, &info) == 0 else { return fail(errno == ENOENT ? "no such file" : Self.errnoText()) }
        if info.st_mode & S_IFMT == S_IFDIR { return fail("is a directory, not a \(kind)") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return fail(errno == EACCES ? "permission denied (cannot be read by this user)" : Self.errnoText()) }
        close(fd)
        guard let data = FileManager.default.contents(atPath: path) else { return fail("cannot be read") }
        guard let text = String(data: data, encoding: .utf8) else { return fail("not UTF-8 text") }
        return .success(text)
    }

    static func errnoText() -> String {
        let text = String(cString: strerror(errno))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    public static func parse(_ text: String, baseDirectory: URL) throws(ConfigError) -> SyncConfiguration {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch {
            var e = ConfigError(key: "", reason: error.reason)
            (e.line, e.column) = TextPosition.lineAndColumn(of: error.offset, in: text)
            throw e
        }
        guard case let .object(fields) = root else { throw ConfigError(key: "", reason: "the config must be a JSON object") }
        for (key, _) in fields where !knownKeys.contains(key) {
            throw ConfigError(key: key, reason: "unknown key (known keys: \(knownKeys.filter { $0 != "$comment" }.sorted().joined(separator: ", ")))")
        }
        var reader = ConfigReader(root: root, base: baseDirectory)
        return try reader.read()
    }

    /// A key file's key. A file that other users can read is refused: the key must stay private.
    static func loadKeyFile(_ file: URL, source: String) throws(ConfigError) -> SecretKey {
        var info = stat()
        guard stat(file.path, &info) == 0 else {
            throw ConfigError(key: source, reason: "\(file.path): \(errno == ENOENT ? "no such file" : Self.errnoText())")
        }
        if info.st_mode & 0o077 != 0 {
            throw ConfigError(
                key: source, reason: "\(file.path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        let text: String
        switch Self.readText(file.path, kind: "key file") {
        case let .success(t): text = t
        case let .failure(e): throw ConfigError(key: source, reason: "\(file.path): \(e.reason)")
        }
        do { return try SecretKey(parsing: text) } catch { throw ConfigError(key: source, reason: "\(file.path) does not hold a valid key: \(error)") }
    }

    /// The inbox recipients' own keys (`inbox.keys`), by pubkey; each file must hold the key of
    /// the pubkey it is listed under.
    public func loadInboxKeys() throws(ConfigError) -> [String: SecretKey] {
        guard inbox.enabled else { return [:] }
        var out: [String: SecretKey] = [:]
        for (pubkey, file) in inbox.keyFiles.sorted(by: { $0.key < $1.key }) {
            let source = inbox.keySources[pubkey] ?? "inbox.keys"
            let key = try Self.loadKeyFile(file, source: source)
            guard key.publicKey == pubkey else {
                throw ConfigError(
                    key: source, reason: "\(file.path) holds the key of \(NIP19.encode(.npub(key.publicKey))), not of this pubkey")
            }
            out[pubkey] = key
        }
        return out
    }

    /// Loads the AUTH key from `secret_key_file` or the environment. A key file
    /// that other users can read is refused: the key must stay private.
    public func loadSecretKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> SecretKey? {
        if let file = secretKeyFile { return try Self.loadKeyFile(file, source: secretKeyFileSource) }
        if let text = environment[Self.secretKeyEnvironment], !text.isEmpty {
            do { return try SecretKey(parsing: text) } catch {
                throw ConfigError(key: Self.secretKeyEnvironment, reason: "does not hold a valid key: \(error)")
            }
        }
        if relays.contains(where: \.auth) {
            throw ConfigError(
                key: "secret_key_file", reason: "a relay has \"auth\": true but no key is configured (set secret_key_file or \(Self.secretKeyEnvironment))")
        }
        return nil
    }
}

extension SyncConfiguration {
    /// A configuration that only carries a key file, for commands without sync.json.
    public static func parseForKeyOnly() -> SyncConfiguration {
        SyncConfiguration(
            pubkeys: [], relays: [], kinds: nil, since: nil, ledgerPath: URL(fileURLWithPath: "/dev/null"), archive: nil,
            secretKeyFile: nil, logLevel: "info", discover: DiscoverSettings(), baseDirectory: URL(fileURLWithPath: "."))
    }
}
