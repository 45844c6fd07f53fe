import Logging
import NostrCore
import ServiceLifecycle
import Synchronization

/// Many relays, each run in its own child task so one failing relay never stalls the others.
public final class RelayPool: Service, Sendable {
    private let logger: Logger
    private let registry: Registry

    public init(logger: Logger) {
        self.logger = logger
        self.registry = Registry()
    }

    /// Adds a relay (or returns the one already there for that URL and identity); started at once
    /// when the pool is running.
    public func add(_ configuration: RelayConfiguration) async -> Relay {
        await registry.add(configuration, logger: logger)
    }

    /// Stops and forgets a relay.
    public func remove(url: RelayURL) async {
        await registry.remove(key: url.normalized)?.stop()
    }

    public func relay(url: RelayURL) async -> Relay? {
        await registry.relay(key: url.normalized)
    }

    public var relays: [Relay] {
        get async { await registry.all }
    }

    /// Runs every relay until cancelled or graceful shutdown.
    public func run() async throws {
        let (stream, continuation) = AsyncStream<Relay>.makeStream()
        let existing = await registry.startRunning(continuation)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    for relay in existing {
                        group.addTask { try? await relay.run() }
                    }
                    for await relay in stream {
                        group.addTask { try? await relay.run() }
                    }
                }
            } onGracefulShutdown: {
                continuation.finish()
            }
        } onCancel: {
            continuation.finish()
        }
        for relay in await registry.stopRunning() { relay.stop() }
    }

    public func healths() async -> [RelayURL: RelayHealth] {
        let all = await registry.all
        return await withTaskGroup(of: RelayHealth.self) { group in
            for relay in all { group.addTask { await relay.health() } }
            var out: [RelayURL: RelayHealth] = [:]
            for await h in group { out[h.url] = h }
            return out
        }
    }

    private actor Registry {
        private var relays: [String: Relay] = [:]
        private var order: [String] = []
        private var starter: AsyncStream<Relay>.Continuation?

        func add(_ configuration: RelayConfiguration, logger: Logger) -> Relay {
            if let existing = relays[configuration.poolKey] { return existing }
            let relay = Relay(configuration: configuration, logger: logger)
            relays[configuration.poolKey] = relay
            order.append(configuration.poolKey)
            starter?.yield(relay)
            return relay
        }

        /// `key` is a relay's pool key: its URL, or its URL and identity.
        func remove(key: String) -> Relay? {
            order.removeAll { $0 == key }
            return relays.removeValue(forKey: key)
        }

        func relay(key: String) -> Relay? { relays[key] }

        var all: [Relay] { order.compactMap { relays[$0] } }

        func startRunning(_ continuation: AsyncStream<Relay>.Continuation) -> [Relay] {
            starter = continuation
            return all
        }

        func stopRunning() -> [Relay] {
            starter = nil
            return all
        }
    }
}
