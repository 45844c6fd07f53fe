import Foundation
import Ledger
import NostrCore
import PeerHarness
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// A backup whose NIP-11 document refuses some kinds is never sent them;
/// the ledger and the summary say why.
@Suite(.serialized) struct ContentStrategyTests {
    @Test func kindsABackupRefusesAreSkippedWithTheReason() async throws {
        let f = try AgentFixture()
        defer { f.cleanUp() }
        let primary = try await TestRelay.start(.localRelay)
        defer { primary.stopNow() }
        let alice = SecretKey.generate()
        let notes = try AgentFixture.notes(alice, count: 12)
        let letters = try AgentFixture.notes(alice, count: 5, kind: 4, start: 1_700_050_000)
        try await AgentFixture.seed(notes + letters, into: primary.url)

        let store = ScriptedRelayStore()
        var behaviour = store.behaviour
        behaviour.information = #"{"name":"no dms","retention":[{"kinds":[4],"time":0},{"time":null}]}"#
        try await ScriptedRelay.with(behaviour) { backup in
            let config = try f.configuration(pubkeys: [alice.publicKey], relays: [(primary.url, .primary), (backup.url, .backup)])
            let summary = try await SyncAgentRunner(configuration: config, logger: AgentFixture.logger).runOnce()
            #expect(summary.succeeded, "\(summary.text)")
            let reason = "skipped: NIP-11 retention keeps no kind 4"
            #expect(summary.counters.rejected[backup.url] == [reason: letters.count], "\(summary.text)")
            #expect(store.ids == Set(notes.map(\.id)))
            #expect(store.eventMessagesReceived == notes.count)
            let ledger = try Ledger(path: config.ledgerPath.path)
            for e in letters { #expect(try ledger.presence(of: e)[backup.url] == .rejected) }
            let line = try #require(try RelaysReport.make(configuration: config, ledger: ledger).relays.first { $0.url == backup.url })
            #expect(line.notes == ["NIP-11 retention refuses kinds 4"])
        }
    }
}
