import NostrCore
import Synchronization

/// An in-memory event store that answers like a relay, with the quirks a test dials in
/// (result caps, inclusive or exclusive `until`, ignored limits, shuffled order, odd OKs).
/// Use `behaviour` with `ScriptedRelay`; `transformOK` and `intercept` add hostility.
public final class ScriptedRelayStore: Sendable {
    public struct Quirks: Sendable {
        /// Most events returned per REQ, whatever the limit.
        public var cap: Int = 500
        public var untilInclusive = true
        public var ignoreLimit = false
        public var shuffle = false
        /// Answer with an empty event id when rejecting (nostr-relay does).
        public var emptyIDOnReject = false
        /// Never answer EVENTs at all.
        public var neverAnswerOK = false
        /// The first N EVENTs on each connection get `rate-limited:`.
        public var rateLimitFirst = 0
        /// After this many EVENTs a connection goes deaf (nothing more is answered), like
        /// LocalRelay's stall after ~6,000 EVENTs.
        public var stallAfter: Int = .max
        /// EVENTs with these ids are never answered (the others are).
        public var ignoreIDs: Set<String> = []
        /// Events with these ids are rejected with `blocked:`.
        public var rejectIDs: Set<String> = []
        /// Send an AUTH challenge on connect and demand AUTH before EVENT/REQ.
        public var requireAuth = false

        public init() {}
    }

    private struct State {
        var events: [String: Event] = [:]
        var perConnectionEVENTs: [Int: Int] = [:]
        var authed: Set<Int> = []
        var received = 0
        var reqs: [Filter] = []
    }

    private let state = Mutex(State())
    public let quirks: Quirks

    public init(quirks: Quirks = .init(), events: [Event] = []) {
        self.quirks = quirks
        state.withLock { s in for e in events { s.events[e.id] = e } }
    }

    public var count: Int { state.withLock { $0.events.count } }
    public var ids: Set<String> { state.withLock { Set($0.events.keys) } }
    /// EVENT messages received (including rejected and repeated ones).
    public var eventMessagesReceived: Int { state.withLock { $0.received } }
    /// Every filter received in a REQ, in order.
    public var requestedFilters: [Filter] { state.withLock { $0.reqs } }

    public func add(_ events: [Event]) {
        state.withLock { s in for e in events { s.events[e.id] = e } }
    }

    public var behaviour: ScriptedRelay.Behaviour {
        ScriptedRelay.Behaviour(
            onConnect: { [self] connection in
                if quirks.requireAuth { try await connection.send(.auth(challenge: "challenge-\(connection.index)")) }
            },
            onText: { [self] connection, text in try await answer(connection, text) })
    }

    /// The default answer to one client message.
    public func answer(_ connection: ScriptedRelayConnection, _ text: String) async throws {
        if state.withLock({ $0.perConnectionEVENTs[connection.index, default: 0] }) >= quirks.stallAfter { return }
        guard let message = try? ClientMessage.decode(text) else {
            try await connection.send(.notice("could not parse"))
            return
        }
        switch message {
        case let .auth(event):
            let ok =
                event.kind == 22242 && event.verify().isValid
                && event.tags.contains { $0.count >= 2 && $0[0] == "challenge" && $0[1] == "challenge-\(connection.index)" }
            if ok { _ = state.withLock { $0.authed.insert(connection.index) } }
            try await connection.send(.ok(eventID: event.id, accepted: ok, reason: RelayReason(ok ? "" : "invalid: bad auth")))
        case let .event(event):
            let (n, authed) = state.withLock { s -> (Int, Bool) in
                s.received += 1
                s.perConnectionEVENTs[connection.index, default: 0] += 1
                return (s.perConnectionEVENTs[connection.index]!, s.authed.contains(connection.index))
            }
            if quirks.neverAnswerOK || quirks.ignoreIDs.contains(event.id) { return }
            if quirks.requireAuth, !authed {
                try await connection.send(.ok(eventID: event.id, accepted: false, reason: RelayReason("auth-required: authenticate first")))
                return
            }
            if n <= quirks.rateLimitFirst {
                try await connection.send(.ok(eventID: event.id, accepted: false, reason: RelayReason("rate-limited: slow down")))
                return
            }
            if quirks.rejectIDs.contains(event.id) || !event.verify().isValid {
                let reason = RelayReason(quirks.rejectIDs.contains(event.id) ? "blocked: not welcome" : "invalid: bad signature")
                try await connection.send(.ok(eventID: quirks.emptyIDOnReject ? "" : event.id, accepted: false, reason: reason))
                return
            }
            let duplicate = state.withLock { s -> Bool in
                if s.events[event.id] != nil { return true }
                s.events[event.id] = event
                return false
            }
            try await connection.send(.ok(eventID: event.id, accepted: !duplicate, reason: RelayReason(duplicate ? "duplicate: have it" : "")))
        case let .req(sub, filters):
            state.withLock { $0.reqs.append(contentsOf: filters) }
            if quirks.requireAuth, !state.withLock({ $0.authed.contains(connection.index) }) {
                try await connection.send(.closed(subscription: sub, reason: RelayReason("auth-required: authenticate first")))
                return
            }
            for event in query(filters) {
                try await connection.send(.event(subscription: sub, event: event))
            }
            try await connection.send(.eose(subscription: sub))
        case .close, .count, .negOpen, .negMsg, .negClose:
            break
        }
    }

    /// What this store returns for a REQ: newest first, within limit and cap.
    public func query(_ filters: [Filter]) -> [Event] {
        let all = state.withLock { Array($0.events.values) }
        var out: [Event] = []
        var seen = Set<String>()
        for filter in filters {
            var f = filter
            if !quirks.untilInclusive, let u = f.until { f.until = u - 1 }
            let limit = quirks.ignoreLimit ? Int.max : (filter.limit ?? Int.max)
            var matching = all.filter { f.matches($0) }
            matching.sort { $0.supersedes($1) }
            for e in matching.prefix(min(limit, quirks.cap)) where seen.insert(e.id).inserted { out.append(e) }
        }
        if quirks.shuffle { out.shuffle() }
        return out
    }
}
