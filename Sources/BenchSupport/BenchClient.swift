import Logging
import NostrCore
import PeerHarness
import RelayClient

/// RelaySync's own client as the benchmarks use it to seed and read their relays.
public enum BenchClient {
    /// Runs `body` with a connected client (waiting at most 10 s to connect), stopped afterwards.
    public static func withRelay<T>(_ url: RelayURL, logger: Logger, _ body: (Relay) async throws -> T) async throws -> T {
        let relay = Relay(configuration: RelayConfiguration(url: url), logger: logger)
        let service = Task { try await relay.run() }
        defer { relay.stop(); service.cancel() }
        guard await relay.waitUntilConnected(timeout: .seconds(10)) else { throw PeerError("cannot connect to \(url)") }
        return try await body(relay)
    }

    /// Publishes in batches of 10,000 and fails on any refusal, except an older replaceable version
    /// re-sent after a stall (LocalRelay answers "error: unknown" and keeps the newest either way).
    public static func publish(_ events: [Event], to url: RelayURL, logger: Logger) async throws {
        try await withRelay(url, logger: logger) { relay in
            for start in stride(from: 0, to: events.count, by: 10_000) {
                let batch = Array(events[start..<min(start + 10_000, events.count)])
                let out = await relay.publish(batch)
                let replaceable = Set(batch.filter { $0.kindClass == .replaceable || $0.kindClass == .addressable }.map(\.id))
                let refused = out.filter { !$0.value.isDelivered && !replaceable.contains($0.key) }.map(\.value)
                guard refused.isEmpty else {
                    throw PeerError("publishing: \(refused.count) refused: \(Dictionary(grouping: refused, by: \.description).mapValues(\.count))")
                }
            }
        }
    }
}
