import Foundation
import Logging
import NostrCore
import PeerHarness
import RelayClient

@testable import SyncAgent

/// Builds configs, seeds relays and reads them back for the agent's
/// end-to-end tests. Relays are real third-party relays started by the test.
struct AgentFixture {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    static var logger: Logger {
        var l = Logger(label: "test")
        l.logLevel = ProcessInfo.processInfo.environment["RELAYSYNC_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return l
    }

    func configuration(
        pubkeys: [String], relays: [(RelayURL, RelayRole)], kinds: [Int]? = nil, since: Int64? = nil, archive: Bool = false,
        indexers: [RelayURL]? = nil, reconcileInterval: String? = nil, relayScopes: [RelayURL: [String]] = [:], extra: [(String, JSONValue)] = []
    ) throws -> SyncConfiguration {
        let relayObjects = relays.map { url, role -> JSONValue in
            var fields: [(String, JSONValue)] = [("url", .string(url.normalized)), ("role", .string(role.rawValue))]
            if let scopes = relayScopes[url] { fields.append(("scopes", .array(scopes.map { .string($0) }))) }
            return .object(fields)
        }
        var fields: [(String, JSONValue)] = [
            ("pubkeys", .array(pubkeys.map { .string($0) })),
            ("relays", .array(relayObjects)),
            ("ledger", .string("ledger.sqlite")),
        ]
        if let kinds { fields.append(("kinds", .array(kinds.map { .int(Int64($0)) }))) }
        if let since { fields.append(("since", .int(since))) }
        if archive { fields.append(("archive", .object([("directory", .string("archive"))]))) }
        if let indexers {
            // The test relays all listen on 127.0.0.1, which discovery refuses unless told otherwise.
            fields.append(
                (
                    "discover",
                    .object([
                        ("enabled", .bool(true)), ("indexers", .array(indexers.map { .string($0.normalized) })), ("refresh", .string("6h")),
                        ("allow_private_addresses", .bool(true)),
                    ])
                ))
        }
        if let reconcileInterval { fields.append(("reconcile", .object([("interval", .string(reconcileInterval))]))) }
        fields += extra
        let text = JSONValue.object(fields).serialized
        try text.write(to: directory.appendingPathComponent("sync.json"), atomically: true, encoding: .utf8)
        return try SyncConfiguration.parse(text, baseDirectory: directory)
    }

    /// Publishes events through RelaySync's own client and checks every one was accepted.
    static func seed(_ events: [Event], into url: RelayURL) async throws {
        try await withRelay(url) { relay in
            let outcomes = await relay.publish(events)
            let failed = events.filter { !(outcomes[$0.id]?.isDelivered ?? false) }
            guard failed.isEmpty else {
                throw FixtureError("seeding \(url): \(failed.count) of \(events.count) not accepted, e.g. \(String(describing: outcomes[failed[0].id]))")
            }
        }
    }

    /// Every event id the relay holds for these authors.
    static func ids(on url: RelayURL, authors: [String]) async throws -> Set<String> {
        try await withRelay(url) { relay in
            let collected = Collected()
            _ = try await relay.fetchAll(Filter(authors: authors)) { page, _ in collected.add(page.map(\.id)) }
            return collected.ids
        }
    }

    static func withRelay<T: Sendable>(_ url: RelayURL, _ body: @Sendable (Relay) async throws -> T) async throws -> T {
        let relay = Relay(configuration: RelayConfiguration(url: url), logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await relay.run(); return nil
            }
            guard await relay.waitUntilConnected(timeout: .seconds(15)) else { throw FixtureError("cannot connect to \(url)") }
            let result = try await body(relay)
            group.cancelAll()
            return result
        }
    }

    /// Polls `condition` every 200 ms until it holds or `seconds` pass; false on timeout.
    static func waitFor(seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        try await Poll.until(timeout: .seconds(seconds), every: .milliseconds(200), condition)
    }

    static func notes(_ key: SecretKey, count: Int, kind: Int = 1, start: Int64 = 1_700_000_000) throws -> [Event] {
        try (0..<count).map { i in
            try key.sign(kind: kind, content: "note \(i) from \(key.publicKey.prefix(8)) — ünïcode ✓", tags: [["t", "relaysync"]], createdAt: start + Int64(i))
        }
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var set: Set<String> = []
    func add(_ ids: [String]) { lock.lock(); set.formUnion(ids); lock.unlock() }
    var ids: Set<String> { lock.lock(); defer { lock.unlock() }; return set }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
