import Foundation
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent

@Suite struct SyncConfigurationTests {
    let base = URL(fileURLWithPath: "/srv/relaysync")

    func parse(_ text: String) throws(ConfigError) -> SyncConfiguration {
        try SyncConfiguration.parse(text, baseDirectory: base)
    }

    func error(_ text: String) -> ConfigError? {
        do { _ = try parse(text); return nil } catch { return error }
    }

    let key = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"

    @Test func readsTheExampleFile() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sync.example.json").standardizedFileURL
        let c = try SyncConfiguration.load(path: example.path)
        #expect(c.pubkeys.count == 2)
        #expect(c.pubkeys.allSatisfy { Hex.isLowercase($0, count: 64) })
        #expect(c.relays.map(\.role) == [.primary, .backup, .both])
        #expect(c.relays[2].auth)
        #expect(c.readableRelays.map(\.url) == ["wss://relay.example.com", "wss://mine.example.net"])
        #expect(c.writableRelays.map(\.url) == ["wss://backup.example.org", "wss://mine.example.net"])
        #expect(c.kinds == nil && c.since == nil)
        #expect(c.ledgerPath.path.hasSuffix("/data/ledger.sqlite"))
        #expect(c.archive?.compressionLevel == 3)
        #expect(c.discover.refresh == .seconds(6 * 3600))
    }

    @Test func relativePathsResolveAgainstTheConfigFolder() throws {
        let c = try parse(
            #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:7000","role":"primary"}],"ledger":"l/x.sqlite","archive":{"directory":"/abs/arch"}}"#)
        #expect(c.ledgerPath.path == "/srv/relaysync/l/x.sqlite")
        #expect(c.archive?.directory.path == "/abs/arch")
    }

    @Test func npubAndHexNameTheSameKey() throws {
        let npub = NIP19.encode(.npub(key))
        let c = try parse(#"{"pubkeys":["\#(npub)","\#(key)"],"relays":[{"url":"ws://127.0.0.1:7000"}]}"#)
        #expect(c.pubkeys == [key])
    }

    @Test(arguments: [
        (#"{"pubkeys":["abc"],"relays":[]}"#, "pubkeys[0]"),
        (#"{"relays":[{"url":"ws://a"}]}"#, "pubkeys"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"},{"url":"ws://b"},{"url":"http://c"}]}"#, "relays[2].url"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a","role":"mirror"}]}"#, "relays[0].role"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a","auth":"yes"}]}"#, "relays[0].auth"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a","rol":"primary"}]}"#, "relays[0].rol"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"},{"url":"ws://a/"}]}"#, "relays[1].url"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a","role":"backup"}]}"#, "relays"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"kinds":[1,70000]}"#, "kinds[1]"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"since":"yesterday"}"#, "since"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"log_level":"loud"}"#, "log_level"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"log_format":"xml"}"#, "log_format"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"archive":{"directory":"a","compression_level":40}}"#, "archive.compression_level"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"archive":{}}"#, "archive.directory"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"discover":{"refresh":"often"}}"#, "discover.refresh"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a","role":"backup"}],"discover":{"enabled":true,"indexers":[]}}"#, "discover.indexers"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"discover":{"indexers":["https://x"]}}"#, "discover.indexers[0]"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}],"legder":"x"}"#, "legder"),
        (#"{"pubkeys":["K"],"relays":[{"url":"ws://a"}]"#, ""),
    ])
    func badConfigNamesTheKey(text: String, expectedKey: String) {
        let e = error(text.replacingOccurrences(of: "\"K\"", with: "\"\(key)\""))
        #expect(e?.key == expectedKey, "got \(String(describing: e))")
        #expect(!(e?.reason.isEmpty ?? true))
    }

    /// The cluster's lease period: 30 s by default, a duration from 1 s to 1 h, one line naming the key otherwise.
    @Test func leasePeriodIsADurationWithinBounds() throws {
        let relays = #""relays":[{"url":"ws://127.0.0.1:7000"}]"#
        #expect(try parse(#"{"pubkeys":["\#(key)"],\#(relays)}"#).leasePeriod == .seconds(30))
        #expect(try parse(#"{"pubkeys":["\#(key)"],\#(relays),"cluster":{"lease_period":"3s"}}"#).leasePeriod == .seconds(3))
        #expect(try parse(#"{"pubkeys":["\#(key)"],\#(relays),"cluster":{"lease_period":"2m"}}"#).leasePeriod == .seconds(120))
        for bad in [#""0s""#, #""2h""#, "30", #""soon""#] {
            let e = error(#"{"pubkeys":["\#(key)"],\#(relays),"cluster":{"lease_period":\#(bad)}}"#)
            #expect(e?.key == "cluster.lease_period", "\(bad): \(String(describing: e))")
            #expect(e?.reason.contains("\n") == false)
        }
        #expect(error(#"{"pubkeys":["\#(key)"],\#(relays),"cluster":{"lease":"3s"}}"#)?.key == "cluster.lease")
        #expect(error(#"{"pubkeys":["\#(key)"],\#(relays),"cluster":"3s"}"#)?.key == "cluster")
    }

    @Test func logFormatDefaultsToText() throws {
        #expect(try parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}]}"#).logFormat == .text)
        #expect(try parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"log_format":"json"}"#).logFormat == .json)
    }

    @Test func jsonSyntaxErrorsCarryLineAndColumn() {
        let e = error("{\n  \"pubkeys\": [],\n  \"since\": 0 \"relays\": []\n}")
        #expect(e?.line == 3 && e?.column == 14 && e?.reason == "expected ',' or '}'", "\(String(describing: e))")
        #expect(e?.description == "line 3, column 14: expected ',' or '}'")
        #expect(e?.inFile("sync.json").description == "sync.json:3:14: expected ',' or '}'")
    }

    @Test func sinceAcceptsDatesAndSeconds() throws {
        let a = try parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"since":"2024-01-31"}"#)
        #expect(a.since == 1_706_659_200)
        let b = try parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"since":1700000000}"#)
        #expect(b.since == 1_700_000_000)
    }

    @Test func keyFileReadableByOthersIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rs-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = SecretKey.generate()
        let file = dir.appendingPathComponent("k")
        try (secret.nsec + "\n").write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o644)
        let c = try SyncConfiguration.parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a","auth":true}],"secret_key_file":"k"}"#, baseDirectory: dir)
        #expect(throws: ConfigError.self) { try c.loadSecretKey(environment: [:]) }
        chmod(file.path, 0o600)
        let loaded = try c.loadSecretKey(environment: [:])
        #expect(loaded?.publicKey == secret.publicKey)
        #expect(!"\(loaded!)".contains(secret.hex), "the key must never be printed")
    }

    @Test func authWithoutKeyIsAnError() throws {
        let c = try parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a","auth":true}]}"#)
        #expect(throws: ConfigError.self) { try c.loadSecretKey(environment: [:]) }
        let hex = SecretKey.generate().hex
        #expect(try c.loadSecretKey(environment: [SyncConfiguration.secretKeyEnvironment: hex]) != nil)
    }
}
