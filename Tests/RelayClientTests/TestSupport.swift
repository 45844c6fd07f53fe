import Foundation
import Logging
import NostrCore
import PeerHarness

@testable import RelayClient

enum TestSupport {
    static let logger: Logger = {
        var l = Logger(label: "relay-client-tests")
        l.logLevel = ProcessInfo.processInfo.environment["RELAY_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        return l
    }()

    static let key = SecretKey.generate()

    /// `count` signed kind-1 events, `created_at` spread from `start` in steps of `step` seconds.
    static func events(_ count: Int, start: Int64 = 1_700_000_000, step: Int64 = 1, key: SecretKey = key, kind: Int = 1, content: String = "note") -> [Event] {
        (0..<count).map { i in
            try! key.sign(kind: kind, content: "\(content) \(i)", createdAt: start + Int64(i) * step)
        }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Polls `condition` every `interval` until it holds or `seconds` pass; returns whether it held.
    @discardableResult
    static func waitFor(seconds: Int, every interval: Duration = .milliseconds(50), _ condition: () async -> Bool) async throws -> Bool {
        try await Poll.until(timeout: .seconds(seconds), every: interval, condition)
    }

    /// A configuration with short timeouts so hostile cases finish quickly.
    static func configuration(_ url: RelayURL, authKey: SecretKey? = nil) -> RelayConfiguration {
        var c = RelayConfiguration(url: url, authKey: authKey)
        c.connectTimeout = .seconds(5)
        c.okTimeout = .seconds(2)
        c.eoseTimeout = .seconds(10)
        c.backoffInitial = .milliseconds(200)
        c.backoffCap = .seconds(2)
        c.notConnectedAfter = .seconds(10)
        c.fetchInformation = false
        return c
    }

    /// Runs the relay's service loop around `body`, then stops it and waits for it to end.
    static func withRelay<T: Sendable>(_ configuration: RelayConfiguration, _ body: @Sendable (Relay) async throws -> T) async throws -> T {
        let relay = Relay(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await relay.run(); return nil
            }
            do {
                let result = try await body(relay)
                relay.stop()
                while let r = try await group.next() { _ = r }
                return result
            } catch {
                relay.stop()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Collects a non-live subscription's events until it ends.
    static func collect(_ subscription: RelaySubscription) async -> (events: [Event], eose: Bool, closed: RelayReason?) {
        var events: [Event] = []
        var eose = false
        var closed: RelayReason?
        for await item in subscription {
            switch item {
            case let .event(e): events.append(e)
            case .endOfStoredEvents: eose = true
            case let .closed(r): closed = r
            }
        }
        return (events, eose, closed)
    }
}
