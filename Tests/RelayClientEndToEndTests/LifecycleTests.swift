import Foundation
import InMemoryLogging
import Logging
import NIOCore
import NIOPosix
import NostrCore
import PeerHarness
import Synchronization
import Testing

@testable import RelayClient
@testable import RelayClientTests

/// Every log record kept in memory (swift-log's `InMemoryLogHandler`) so tests can count them.
final class LogRecorder: Sendable {
    struct Record: Sendable { let level: Logger.Level; let message: String; let metadata: [String: String] }
    private let handler: InMemoryLogHandler = {
        var h = InMemoryLogHandler()
        h.logLevel = .trace
        return h
    }()

    var all: [Record] {
        handler.entries.map { Record(level: $0.level, message: "\($0.message)", metadata: $0.metadata.mapValues { "\($0)" }) }
    }

    var logger: Logger {
        let handler = self.handler
        var l = Logger(label: "recorder") { _ in handler }
        l.logLevel = .trace
        return l
    }
}

@Suite("Lifecycle against real sockets")
struct LifecycleTests {
    @Test(.timeLimit(.minutes(1)))
    func downRelayIsRetriedWithBackoffQuietly() async throws {
        // A port nobody listens on: bind, read the port, close.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        let recorder = LogRecorder()
        var config = TestSupport.configuration(.built("ws://127.0.0.1:\(port)"))
        config.backoffInitial = .milliseconds(100)
        config.backoffCap = .seconds(1)
        let relay = Relay(configuration: config, logger: recorder.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            // Until a few attempts have failed (bounded: a loaded machine connects slowly).
            try await TestSupport.waitFor(seconds: 20, every: .milliseconds(100)) {
                recorder.all.filter { $0.message == "relay disconnected" }.count >= 5
            }
            relay.stop()
            try await group.waitForAll()
        }
        let failures = recorder.all.filter { $0.message == "relay disconnected" }
        // 100 ms doubling to a 1 s cap with jitter: a handful of attempts in seconds, not thousands.
        #expect(failures.count >= 3 && failures.count <= 30, "attempts: \(failures.count)")
        let loud = failures.filter { $0.level >= .info }
        #expect(loud.count <= 5, "loud: \(loud.count)")
        #expect(failures.allSatisfy { $0.metadata["relay.url"] == "\(config.url)" })
        let h = await relay.health()
        #expect(h.state == .terminated)
        #expect(h.lastError != nil)
        #expect(await relay.publish(TestSupport.events(1)[0]) == .notConnected)
    }

    @Test(.timeLimit(.minutes(1)))
    func invalidEventsAreLoggedWithRelayURLAndEventID() async throws {
        let recorder = LogRecorder()
        let good = TestSupport.events(2)
        let bad = Event(id: good[1].id, pubkey: good[1].pubkey, createdAt: good[1].createdAt + 1, kind: 1, tags: [], content: "tampered", sig: good[1].sig)
        let behaviour = PeerHarnessBehaviours.answerEveryREQ(with: [good[0], bad])
        try await PeerHarnessBehaviours.withServer(behaviour) { url in
            let relay = Relay(configuration: TestSupport.configuration(url), logger: recorder.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                let got = await TestSupport.collect(relay.subscribe([Filter(kinds: [1])], live: false))
                #expect(got.events.map(\.id) == [good[0].id])
                relay.stop()
                try await group.waitForAll()
            }
            let logged = recorder.all.first { $0.message == "invalid event dropped" }
            #expect(logged?.metadata["event.id"] == bad.id)
            #expect(logged?.metadata["relay.url"] == "\(url)")
        }
    }
}
