import NostrCore
import PeerHarness

/// Small scripted servers shared by several tests.
enum PeerHarnessBehaviours {
    static func answerEveryREQ(with events: [Event]) -> ScriptedRelay.Behaviour {
        ScriptedRelay.Behaviour(onText: { c, t in
            guard case let .req(sub, _)? = try? ClientMessage.decode(t) else { return }
            for e in events { try await c.send(.event(subscription: sub, event: e)) }
            try await c.send(.eose(subscription: sub))
        })
    }

    static func withServer<T: Sendable>(_ behaviour: ScriptedRelay.Behaviour, _ body: (RelayURL) async throws -> T) async throws -> T {
        try await ScriptedRelay.with(behaviour) { try await body($0.url) }
    }
}
