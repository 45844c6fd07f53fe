import Foundation
import Media
import Testing

@testable import SyncAgent

/// The `"media"` object: on when present, defaults as documented, every mistake names its key.
@Suite struct MediaConfigurationTests {
    let base = URL(fileURLWithPath: "/srv/relaysync")
    let key = String(repeating: "a", count: 64)

    func parse(_ media: String) throws(ConfigError) -> SyncConfiguration {
        try SyncConfiguration.parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}],"media":\#(media)}"#, baseDirectory: base)
    }

    func error(_ media: String) -> ConfigError? {
        do {
            _ = try parse(media)
            return nil
        } catch {
            return error
        }
    }

    @Test func offWithoutTheObjectAndDefaultsWithAnEmptyOne() throws {
        let off = try SyncConfiguration.parse(#"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://a"}]}"#, baseDirectory: base)
        #expect(off.media == nil)
        let on = try #require(try parse("{}").media)
        #expect(on.directory == "/srv/relaysync/data/media")
        #expect(on.maxBlobBytes == 104_857_600)
        #expect(on.maxTotalBytes == nil)
        #expect(on.allowPrivateAddresses == false)
        #expect(on.backupServers.isEmpty && on.sources.isEmpty)
    }

    @Test func everyKeyIsRead() throws {
        let m = try #require(
            try parse(
                #"{"directory":"/data/m","backup_servers":["https://b.example/"],"sources":["http://s.example"],"max_blob_bytes":1000,"max_total_bytes":null,"allow_private_addresses":true,"connections_per_host":3,"concurrent_fetches":5,"fetch_timeout":"30s","max_redirects":2,"max_attempts":4}"#
            ).media)
        #expect(m.directory == "/data/m")
        #expect(m.backupServers == ["https://b.example"])
        #expect(m.sources == ["http://s.example"])
        #expect(m.maxBlobBytes == 1000)
        #expect(m.allowPrivateAddresses)
        #expect(m.connectionsPerHost == 3 && m.concurrentFetches == 5 && m.maxRedirects == 2 && m.maxAttempts == 4)
        #expect(m.fetchTimeout == .seconds(30))
    }

    @Test func mistakesNameTheKey() {
        #expect(error(#""yes""#)?.key == "media")
        #expect(error(#"{"backup_server":[]}"#)?.key == "media.backup_server")
        #expect(error(#"{"backup_servers":["ftp://x"]}"#)?.key == "media.backup_servers[0]")
        #expect(error(#"{"sources":"http://x"}"#)?.key == "media.sources")
        #expect(error(#"{"max_blob_bytes":0}"#)?.key == "media.max_blob_bytes")
        #expect(error(#"{"allow_private_addresses":"no"}"#)?.key == "media.allow_private_addresses")
        #expect(error(#"{"fetch_timeout":"soon"}"#)?.key == "media.fetch_timeout")
    }

    @Test(.enabled(if: (ProcessInfo.processInfo.environment[SyncConfiguration.secretKeyEnvironment] ?? "").isEmpty, "a key is in the environment"))
    func backupServersNeedAKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-media-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try SyncConfiguration.parse(
            #"{"pubkeys":["\#(key)"],"relays":[{"url":"ws://127.0.0.1:1"}],"ledger":"l.sqlite","media":{"directory":"m","backup_servers":["http://127.0.0.1:1"]}}"#,
            baseDirectory: dir)
        let runner = try await SyncAgentRunner(configuration: c, logger: AgentFixture.logger)
        #expect(
            throws: ConfigError(
                key: "media.backup_servers", reason: "uploading to backup servers needs a key to sign with (set secret_key_file or RELAYSYNC_SECRET_KEY)")
        ) {
            _ = try runner.makeMediaWorker()
        }
    }
}
