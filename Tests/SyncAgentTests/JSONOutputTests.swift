import Foundation
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import Archive
@testable import SyncAgent

/// Every `--json` output speaks snake_case: field names, never the keys of maps (relay URLs,
/// rejection reasons), which are data.
@Suite struct JSONOutputTests {
    /// Field names anywhere in `json` that are not snake_case, skipping the values of `maps`.
    static func camelKeys(_ json: String, maps: Set<String>) throws -> [String] {
        func walk(_ value: Any, _ out: inout [String]) {
            if let object = value as? [String: Any] {
                for (k, v) in object {
                    if k.contains(where: \.isUppercase) { out.append(k) }
                    if !maps.contains(k) { walk(v, &out) }
                }
            } else if let array = value as? [Any] {
                for v in array { walk(v, &out) }
            }
        }
        var out: [String] = []
        walk(try JSONSerialization.jsonObject(with: Data(json.utf8)), &out)
        return out
    }

    @Test func reportsUseSnakeCaseFieldNames() throws {
        var diagnosis = RelayDiagnosis(url: "ws://127.0.0.1:1", reachable: true, verdict: "ok")
        diagnosis.connectMs = 1
        diagnosis.reqToEOSE = .init(medianMs: 1, p90Ms: 2, rounds: 3)
        diagnosis.answersCOUNT = true
        diagnosis.answersNEG = false
        diagnosis.information = RelayInformation(name: "r", supportedNIPs: [1, 77])
        var restore = RestoreReport(target: "ws://127.0.0.1:1", dryRun: true)
        restore.rejected["blocked: Spam"] = .init()
        let segment = ArchiveSegmentInfo(name: "events-x.jsonl.zst", sealed: true, events: 1, bytesCompressed: 1, bytesUncompressed: 2, oldest: 1, newest: 2)
        let outputs: [(String, Set<String>)] = [
            (JSONOutput.string([diagnosis]), []),
            (JSONOutput.string(restore), ["rejected", "invalid", "skipped", "failed"]),
            (JSONOutput.string([segment]), []),
        ]
        for (json, maps) in outputs {
            #expect(try Self.camelKeys(json, maps: maps).isEmpty, "\(json)")
        }
        #expect(JSONOutput.string([diagnosis]).contains("\"req_to_eose\""))
        #expect(JSONOutput.string(restore).contains("\"blocked: Spam\""), "map keys are data and stay as they are")
    }
}

/// The once summary's failures stay an object keyed by relay URL, with `discover` for discovery
/// as a whole, though the type behind them is `FailedPart`.
@Suite struct FailedPartJSONTests {
    @Test func failuresEncodeAsAnObjectAndReadBack() throws {
        let failures = FailedPart.failures(
            relays: ["ws://127.0.0.1:1": "connection refused", "wss://relay.example.com/Inbox": "refused"], discovery: "no configured relay answered")
        let summary = OnceSummary(counters: .init(), failures: failures, invalid: [:], pending: [:], seconds: 1)
        // Through the reports' own encoder (snake_case keys): the URLs stay as they are.
        let data = Data(JSONOutput.string(summary).utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let encoded = try #require(object["failures"] as? [String: String])
        #expect(
            encoded == [
                "ws://127.0.0.1:1": "connection refused", "wss://relay.example.com/Inbox": "refused", "discover": "no configured relay answered",
            ])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let back = try decoder.decode(OnceSummary.self, from: data)
        #expect(back.failures == failures)
        #expect(summary.text.contains("FAILED discover: no configured relay answered"))
        #expect(summary.text.contains("FAILED ws://127.0.0.1:1: connection refused"))
    }
}
