import RelayClient
import ServiceLifecycle
import Testing

@testable import SyncAgent

/// A discovered relay's services follow a configured relay's rules: a failure is not swallowed.
@Suite(.timeLimit(.minutes(1))) struct DiscoveredReadersTests {
    struct Fails: Service, Error {
        func run() async throws { throw self }
    }

    struct EndsAtOnce: Service {
        func run() async throws {}
    }

    struct RunsUntilCancelled: Service {
        func run() async throws {
            // A stream nobody feeds: iterating it ends only when the task is cancelled.
            for await _ in AsyncStream<Void> { _ in } {}
            throw CancellationError()
        }
    }

    @Test func aFailingServiceEndsTheReadWithItsError() async {
        await #expect(throws: Fails.self) {
            try await DiscoveryService.read([RunsUntilCancelled(), Fails()], until: OneShotSignal())
        }
    }

    @Test func stoppingEndsTheReadWithoutAnError() async throws {
        let stop = OneShotSignal()
        stop.fire()
        // The long-running service is cancelled and throws CancellationError: not a failure.
        try await DiscoveryService.read([RunsUntilCancelled()], until: stop)
    }

    @Test func servicesThatAllEndEndTheRead() async throws {
        try await DiscoveryService.read([EndsAtOnce(), EndsAtOnce()], until: OneShotSignal())
    }
}
