import Foundation
import PeerHarness
import Testing

/// The harness starts both third-party relays and stops them by PID.
@Suite(.serialized) struct PeerHarnessTests {
    @Test(arguments: [TestRelay.Flavor.nostrRelay, .localRelay])
    func startsAndStops(flavor: TestRelay.Flavor) async throws {
        let relay = try await TestRelay.start(flavor)
        let pid = relay.pid
        #expect(pid > 0)
        #expect(FreePort.isListening(relay.port))
        await relay.stop()
        #expect(kill(pid, 0) != 0, "process \(pid) still alive")
        #expect(!FreePort.isListening(relay.port))
    }
}
