import Foundation
import NostrCore
import PeerHarness
import RelayClient
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// `relaysync diagnose` against the two real relays, which differ on exactly what it reports.
@Suite(.serialized) struct DiagnoseTests {
    @Test(.timeLimit(.minutes(2)))
    func nostrRelayHasNIP11ButNoCOUNTOrNEG() async throws {
        try await TestRelay.with(.nostrRelay) { peer in
            let key = SecretKey.generate()
            try await AgentFixture.seed(AgentFixture.notes(key, count: 30, start: Int64(Date().timeIntervalSince1970) - 100), into: peer.url)
            var diagnostics = RelayDiagnostics(key: key, logger: AgentFixture.logger)
            diagnostics.rounds = 3
            let d = await diagnostics.diagnose(peer.url)
            #expect(d.reachable, "\(d.text)")
            #expect(d.information?.supportedNIPs.contains(1) == true, "\(d.text)")
            #expect(d.answersCOUNT == false)
            #expect(d.answersNEG == false)
            #expect(d.sentAuthChallenge == false)
            #expect(d.readEvents == 30)
            #expect(d.reqToEOSE?.rounds == 3)
            #expect(d.publishOutcome == "accepted", "\(d.text)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func localRelayHasCOUNTAndNEGButNoNIP11() async throws {
        try await TestRelay.with(.localRelay) { peer in
            let d = await RelayDiagnostics(logger: AgentFixture.logger).diagnose(peer.url)
            #expect(d.reachable, "\(d.text)")
            #expect(d.information == nil)
            #expect(d.answersCOUNT == true, "\(d.text)")
            #expect(d.answersNEG == true, "\(d.text)")
            #expect(d.publishOutcome == nil)
            #expect(d.text.contains("NIP-11: no document"))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aClosedPortGetsAOneLineVerdict() async throws {
        let port = try FreePort.pick()
        var diagnostics = RelayDiagnostics(logger: AgentFixture.logger)
        diagnostics.timeout = .seconds(3)
        let d = await diagnostics.diagnose(.built("ws://127.0.0.1:\(port)"))
        #expect(!d.reachable)
        #expect(d.verdict.hasPrefix("unreachable: connection refused"), "\(d.verdict)")
        #expect(!d.text.contains("\n"))
    }
}
