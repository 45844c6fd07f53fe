import Foundation
import NostrCore

extension NostrSDKTool {
    /// nostr-sdk's `Client.sync` (NIP-77) through `sdk_tool.py sync`: the client's database starts with
    /// the events in `eventsFile` (JSON lines); one sync in both directions with every relay, then, with
    /// `thenUp`, an upward sync to that relay. The database is nostr-sdk's LMDB store in `lmdbDirectory`
    /// (a new folder), else an in-memory store. With `splitAt`, each sync runs once per time window
    /// (split at those `created_at` values), one window after another. Returns the tool's JSON report.
    public static func sync(
        eventsFile: String, filterJSON: String, relays: [RelayURL], thenUp: RelayURL? = nil, lmdbDirectory: String? = nil,
        splitAt: [Int64] = []
    ) throws -> String {
        var args = ["sync", "--events", eventsFile, "--filter", filterJSON]
        if let lmdbDirectory { args += ["--lmdb", lmdbDirectory] }
        for t in splitAt { args += ["--split-at", String(t)] }
        for url in relays { args += ["--relay", url.normalized] }
        if let thenUp { args += ["--then-up", thenUp.normalized] }
        return try run(args)
    }
}
