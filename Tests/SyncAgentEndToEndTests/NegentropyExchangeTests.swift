import Foundation
import Ledger
import Negentropy
import NostrCore
import PeerHarness
import RelayClient
import Synchronization
import Testing

@testable import SyncAgent
@testable import SyncAgentTests

/// The NIP-77 session over a WebSocket against scripted relays: one that answers with our own
/// responder, and the refusals real relays send (silence, NOTICE, NEG-ERR, garbage). Each must end
/// promptly with a verdict, never a hang.
@Suite struct NegentropyExchangeTests {
    static func items(_ n: Int, start: Int64 = 1_700_000_000, seed: UInt8 = 0) -> [LedgerItem] {
        (0..<n).map { i in
            var bytes = [UInt8](repeating: seed, count: 32)
            withUnsafeBytes(of: UInt32(i).bigEndian) { bytes.replaceSubrange(0..<4, with: $0) }
            return LedgerItem(createdAt: start + Int64(i / 3), id: Bytes32(hex: bytes.map { String(format: "%02x", $0) }.joined())!)
        }
    }

    /// A relay whose set is `relaySet`, answering NEG-OPEN and NEG-MSG with `NegentropyResponder`.
    static func answering(_ relaySet: [LedgerItem], refuseAbove: Int? = nil) -> ScriptedRelay.Behaviour {
        let sessions = Mutex<[String: NegentropyResponder]>([:])
        let opened = Mutex(0)
        return ScriptedRelay.Behaviour(onText: { c, text in
            guard let message = try? ClientMessage.decode(text) else { return }
            switch message {
            case let .negOpen(sub, filter, hex):
                opened.withLock { $0 += 1 }
                let inWindow = relaySet.filter { $0.createdAt >= (filter.since ?? 0) && $0.createdAt <= (filter.until ?? .max) }
                if let limit = refuseAbove, inWindow.count > limit {
                    try await c.send(.negErr(subscription: sub, reason: "blocked: this query is too big"))
                    return
                }
                let storage = NegentropyStorage(items: inWindow.map { NegentropyItem(timestamp: UInt64($0.createdAt), id: NegentropyID(hex: $0.id.hex)!) })
                var responder = try NegentropyResponder(storage: storage, frameSizeLimit: 60_000)
                let reply = try responder.reconcile(try NegentropyHex.decode(hex))
                sessions.withLock { $0[sub] = responder }
                try await c.send(.negMsg(subscription: sub, message: NegentropyHex.encode(reply)))
            case let .negMsg(sub, hex):
                guard var responder = sessions.withLock({ $0[sub] }) else { return }
                let reply = try responder.reconcile(try NegentropyHex.decode(hex))
                sessions.withLock { $0[sub] = responder }
                try await c.send(.negMsg(subscription: sub, message: NegentropyHex.encode(reply)))
            case let .negClose(sub):
                _ = sessions.withLock { $0.removeValue(forKey: sub) }
            default:
                break
            }
        })
    }

    /// `openTimeout` is short only where a test waits it out (a silent relay): elsewhere the answer
    /// comes, and on a loaded machine it took longer than 0.5 s (a refusal then read as silence).
    static func exchange(
        _ behaviour: ScriptedRelay.Behaviour, items: [LedgerItem], filter: Filter = Filter(kinds: [1]), openTimeout: Duration = .seconds(10),
        roundTimeout: Duration = .seconds(5), beforeClosing: (@Sendable () async throws -> Void)? = nil
    ) async throws -> (NegentropyExchange.Outcome, Duration) {
        try await ScriptedRelay.with(behaviour) { server in
            try await AgentFixture.withRelay(server.url) { relay in
                var exchange = NegentropyExchange(relay: relay)
                exchange.openTimeout = openTimeout
                exchange.roundTimeout = roundTimeout
                let start = ContinuousClock.now
                let outcome = try await exchange.run(filter: filter, items: items)
                let took = ContinuousClock.now - start
                try await beforeClosing?()
                return (outcome, took)
            }
        }
    }

    @Test func findsExactlyWhatEachSideLacks() async throws {
        let shared = Self.items(3_000)
        let onlyOurs = Self.items(40, start: 1_700_000_500, seed: 1)
        let onlyTheirs = Self.items(25, start: 1_699_000_000, seed: 2)
        let (outcome, _) = try await Self.exchange(
            Self.answering(shared + onlyTheirs), items: (shared + onlyOurs).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) })
        guard case let .diff(have, need, traffic) = outcome else { Issue.record("no diff: \(outcome)"); return }
        #expect(Set(have) == Set(onlyOurs))
        #expect(Set(need) == Set(onlyTheirs.map(\.id)))
        #expect(traffic.messages >= 2)
    }

    /// Waits for `condition`, looking every 20 ms, at most `limit`; whether it came true.
    static func poll(within limit: Duration, _ condition: @Sendable () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))  // poll interval
        }
        return true
    }

    /// The starts of the messages a scripted relay read, in order.
    final class Received: Sendable {
        let lines = Mutex<[String]>([])
    }

    /// Answers every REQ at once with EOSE (matching nothing) and ignores everything else, as
    /// relays without NIP-77 treat NEG-OPEN.
    static func answeringOnlyREQs(sent: Received? = nil) -> ScriptedRelay.Behaviour {
        ScriptedRelay.Behaviour(onText: { c, text in
            sent?.lines.withLock { $0.append(String(text.prefix(12))) }
            if case let .req(sub, _)? = try? ClientMessage.decode(text) { try await c.send(.eose(subscription: sub)) }
        })
    }

    /// A relay that ignores NEG-OPEN but answers the REQ sent behind it has read NEG-OPEN: it is
    /// given `openTimeout` from then, not the round's wait. The REQ is closed once answered.
    @Test(.timeLimit(.minutes(1)))
    func aRelayThatIgnoresNEGOPENIsNotWaitedForLong() async throws {
        let sent = Received()
        let (outcome, took) = try await Self.exchange(
            Self.answeringOnlyREQs(sent: sent), items: Self.items(10), openTimeout: .milliseconds(500), roundTimeout: .seconds(30))
        guard case let .unsupported(reason) = outcome else { Issue.record("expected unsupported, got \(outcome)"); return }
        #expect(reason.hasPrefix("no answer to NEG-OPEN within"))
        #expect(took < .seconds(10), "the round's 30 s were waited out")
        let order = sent.lines.withLock { $0 }
        #expect(order.count >= 2 && order[0].hasPrefix("[\"NEG-OPEN\"") && order[1].hasPrefix("[\"REQ\""), "\(order)")
        // The CLOSE goes out as the EOSE arrives.
        #expect(try await Self.poll(within: .seconds(10)) { sent.lines.withLock { $0.contains { $0.hasPrefix("[\"CLOSE\"") } } })
    }

    /// A relay that answers nothing at all, not even a REQ, is not known to lack NIP-77: the
    /// session is lost (no verdict for six hours), after the round's wait.
    @Test(.timeLimit(.minutes(1)))
    func aRelaySilentToEverythingLosesTheSessionWithoutAVerdict() async throws {
        do {
            let (outcome, _) = try await Self.exchange(
                ScriptedRelay.Behaviour(onText: { _, _ in }), items: Self.items(10), openTimeout: .milliseconds(200), roundTimeout: .seconds(1))
            Issue.record("expected a lost session, got \(outcome)")
        } catch let error as ReconcileError {
            #expect("\(error)".contains("no answer to NEG-OPEN, nor to a REQ sent after it"))
        }
    }

    /// A busy relay answers late, but answers everything in order: NEG-OPEN's answer comes before
    /// the REQ's, however long both take, and the session goes on past `openTimeout`.
    @Test(.timeLimit(.minutes(1)))
    func aBusyRelayIsWaitedForPastTheOpenTimeout() async throws {
        let shared = Self.items(200)
        let onlyTheirs = Self.items(5, start: 1_699_000_000, seed: 2)
        let answering = Self.answering(shared + onlyTheirs)
        // The relay's own time per message (a busy relay), not a wait on the test's side.
        let busyFor = Duration.milliseconds(800)
        let read = Received()
        let slow = ScriptedRelay.Behaviour(onText: { c, text in
            read.lines.withLock { $0.append(text) }
            try await Task.sleep(for: busyFor)
            if case let .req(sub, _)? = try? ClientMessage.decode(text) { try await c.send(.eose(subscription: sub)) }
            try await answering.onText(c, text)
        })
        let (outcome, took) = try await Self.exchange(slow, items: shared, openTimeout: .milliseconds(300), roundTimeout: .seconds(20))
        guard case let .diff(have, need, _) = outcome else { Issue.record("expected a diff, got \(outcome)"); return }
        #expect(have.isEmpty)
        #expect(Set(need) == Set(onlyTheirs.map(\.id)))
        #expect(took >= busyFor)
    }

    /// The REQ sent behind NEG-OPEN is closed when the exchange ends, even by a relay that never
    /// answers it: no subscription is left open on the relay.
    @Test(.timeLimit(.minutes(1)))
    func theREQBehindNEGOPENIsClosedWhenTheExchangeEnds() async throws {
        let shared = Self.items(50)
        let answering = Self.answering(shared)
        let read = Received()
        let noEOSE = ScriptedRelay.Behaviour(onText: { c, text in
            read.lines.withLock { $0.append(text) }
            try await answering.onText(c, text)
        })
        let closed = Received()
        let (outcome, _) = try await Self.exchange(
            noEOSE, items: shared,
            beforeClosing: {
                let seen = try await Self.poll(within: .seconds(10)) {
                    let lines = read.lines.withLock { $0 }
                    let probe = lines.lazy.compactMap { line -> String? in
                        if case let .req(sub, _)? = try? ClientMessage.decode(line) { return sub }
                        return nil
                    }.first
                    return probe.map { probe in lines.contains { if case .close(probe)? = try? ClientMessage.decode($0) { true } else { false } } } ?? false
                }
                if seen { closed.lines.withLock { $0.append("closed") } }
            })
        guard case .diff = outcome else { Issue.record("expected a diff, got \(outcome)"); return }
        #expect(closed.lines.withLock { $0 } == ["closed"])
    }

    @Test func aNoticeOrNegErrMeansNoNIP77() async throws {
        let notice = ScriptedRelay.Behaviour(onText: { c, t in
            if t.hasPrefix("[\"NEG-OPEN\"") { try await c.send(.notice("ERROR: bad msg: negentropy disabled")) }
        })
        let (first, _) = try await Self.exchange(notice, items: Self.items(10))
        guard case .unsupported = first else { Issue.record("expected unsupported, got \(first)"); return }

        let negErr = ScriptedRelay.Behaviour(onText: { c, t in
            if case let .negOpen(sub, _, _)? = try? ClientMessage.decode(t) { try await c.send(.negErr(subscription: sub, reason: "error: not supported")) }
        })
        let (second, _) = try await Self.exchange(negErr, items: Self.items(10))
        guard case .unsupported = second else { Issue.record("expected unsupported, got \(second)"); return }

        let blocked = Self.answering(Self.items(100), refuseAbove: 10)
        let (third, _) = try await Self.exchange(blocked, items: Self.items(10))
        guard case .tooLarge = third else { Issue.record("expected tooLarge, got \(third)"); return }

        // LocalRelay's word for a session over its item cap.
        let rateLimited = ScriptedRelay.Behaviour(onText: { c, t in
            if case let .negOpen(sub, _, _)? = try? ClientMessage.decode(t) {
                try await c.send(.negErr(subscription: sub, reason: "rate-limited: too many negentropy items"))
            }
        })
        let (fourth, _) = try await Self.exchange(rateLimited, items: Self.items(10))
        guard case .tooLarge = fourth else { Issue.record("expected tooLarge, got \(fourth)"); return }
    }

    @Test func garbageAnswersEndTheSessionWithoutACrash() async throws {
        for garbage in ["zz", "", "61", "6102ffffffffffffffffffff", String(repeating: "ab", count: 5_000)] {
            let behaviour = ScriptedRelay.Behaviour(onText: { c, t in
                if case let .negOpen(sub, _, _)? = try? ClientMessage.decode(t) { try await c.send(.negMsg(subscription: sub, message: garbage)) }
            })
            let (outcome, _) = try await Self.exchange(behaviour, items: Self.items(50))
            switch outcome {
            case .unsupported: break
            case let .diff(have, need, _):
                // A message that happens to parse must still describe a real difference.
                #expect(have.count <= 50 && need.count < 10_000)
            case .tooLarge: Issue.record("garbage read as a refusal")
            }
        }
    }
}
