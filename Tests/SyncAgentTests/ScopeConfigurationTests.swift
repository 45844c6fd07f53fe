import Foundation
import NostrCore
import Testing

@testable import SyncAgent

/// `inbox` and `filters`: what they read as, and one line naming the key path for each mistake.
@Suite struct ScopeConfigurationTests {
    let key = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"
    let relays = ##""relays":[{"url":"ws://127.0.0.1:7000","role":"both"}]"##

    func parse(_ fields: String) throws(ConfigError) -> SyncConfiguration {
        try SyncConfiguration.parse(##"{"pubkeys":["\##(key)"],\##(relays),\##(fields)}"##, baseDirectory: URL(fileURLWithPath: "/srv/rs"))
    }

    func error(_ fields: String) -> String? {
        do { _ = try parse(fields); return nil } catch { return "\(error.key): \(error.reason)" }
    }

    @Test func theInboxDefaultsToPrivateMessagesAndTheAuthorsScopeStaysTheDefault() throws {
        let plain = try parse(##""kinds":null"##)
        #expect(!plain.inbox.enabled && plain.filters.isEmpty)
        #expect(plain.scopes.map(\.name) == [.authors])
        let c = try parse(##""inbox":{"keys":{"\##(key)":"keys/me.key"}}"##)
        #expect(c.inbox.enabled && c.inbox.kinds == [4, 1059])
        #expect(c.inbox.keyFiles[key]?.path == "/srv/rs/keys/me.key")
        #expect(c.scopes.map(\.name) == [.authors, .inbox])
        #expect(c.scopes[1].relayFilter == Filter(kinds: [4, 1059], tags: ["p": [key]]))
        #expect(try parse(##""inbox":{"enabled":false}"##).inbox.enabled == false)
        #expect(try parse(##""inbox":{"kinds":[4,1059,7,9735]}"##).inbox.kinds == [4, 1059, 7, 9735])
    }

    @Test func filtersBecomeScopesOfTheirOwnInOrder() throws {
        let c = try parse(##""since":1000,"filters":[{"#t":["nostr"]},{"kinds":[9],"#h":["g"],"since":5000},{"authors":["\##(key)"],"kinds":[30023]}]"##)
        #expect(c.scopes.map(\.name) == [.authors, .filter(0), .filter(1), .filter(2)])
        #expect(c.filters[0] == Filter(tags: ["t": ["nostr"]], since: 1000), "a filter without since takes the top-level one")
        #expect(c.filters[1].since == 5000)
        #expect(c.scopes[3].relayFilter.authors == [key])
    }

    @Test func aFilterKeepsItsLedgerIndexWhateverItsOrderOrStart() {
        let a = Filter(kinds: [9, 1], tags: ["h": ["b", "a"]], since: 10)
        let b = Filter(kinds: [1, 9], tags: ["h": ["a", "b"]])
        #expect(ScopeIndex.filterKey(a) == ScopeIndex.filterKey(b))
        #expect(ScopeIndex.filterKey(a) != ScopeIndex.filterKey(Filter(kinds: [1], tags: ["h": ["a", "b"]])))
    }

    @Test func mistakesNameTheKeyPath() {
        #expect(error(##""filters":[{"#t":["x"]},{"#t":[]}]"##) == "filters[1].#t: must be a non-empty array of strings")
        #expect(error(##""filters":[{"ids":["ab"]}]"##)?.hasPrefix("filters[0].ids: not allowed") == true)
        #expect(error(##""filters":[{"#t":["x"],"until":5}]"##)?.hasPrefix("filters[0].until: not allowed") == true)
        #expect(error(##""filters":[{"#t":["x"],"limit":5}]"##)?.hasPrefix("filters[0].limit: not allowed") == true)
        #expect(error(##""filters":[{"kinds":[1]}]"##)?.hasPrefix("filters[0]: names no authors and no tag") == true)
        #expect(error(##""filters":[{"#tt":["x"]}]"##)?.hasPrefix("filters[0].#tt: unknown key") == true)
        #expect(error(##""filters":[{"authors":["npub1nope"]}]"##)?.hasPrefix("filters[0].authors[0]: not an npub") == true)
        #expect(error(##""filters":[{"#t":["x"]},{"#t":["x"]}]"##) == "filters[1]: the same filter is listed twice")
        #expect(error(##""filters":{"#t":["x"]}"##) == "filters: must be an array of NIP-01 filters")
        #expect(error(##""inbox":{"kinds":[]}"##)?.hasPrefix("inbox.kinds: must name at least one kind") == true)
        #expect(error(##""inbox":{"kinds":[70000]}"##) == "inbox.kinds[0]: must be an integer 0...65535")
        #expect(error(##""inbox":{"auth":true}"##)?.hasPrefix("inbox.auth: unknown key") == true)
        let other = String(repeating: "1", count: 64)
        #expect(error(##""inbox":{"keys":{"\##(other)":"k"}}"##) == "inbox.keys.\(other): not one of the configured pubkeys")
    }

    @Test func anInboxKeyFileMustBePrivateAndHoldThatPubkeysKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rs-inbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let mine = SecretKey.generate(), stranger = SecretKey.generate()
        func config(_ file: String) throws -> SyncConfiguration {
            try SyncConfiguration.parse(
                ##"{"pubkeys":["\##(mine.publicKey)"],\##(relays),"inbox":{"keys":{"\##(mine.publicKey)":"\##(file)"}}}"##, baseDirectory: dir)
        }
        func write(_ name: String, _ key: SecretKey, mode: Int) throws {
            let path = dir.appendingPathComponent(name).path
            try key.hex.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, mode_t(mode))
        }
        try write("mine.key", mine, mode: 0o600)
        #expect(try config("mine.key").loadInboxKeys()[mine.publicKey]?.publicKey == mine.publicKey)
        try write("open.key", mine, mode: 0o644)
        #expect(throws: ConfigError.self) { try config("open.key").loadInboxKeys() }
        try write("wrong.key", stranger, mode: 0o600)
        do {
            _ = try config("wrong.key").loadInboxKeys()
            Issue.record("a key of another pubkey was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "inbox.keys.\(mine.publicKey)" && error.reason.contains("holds the key of npub1"))
        }
    }
}
