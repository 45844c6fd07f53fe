import Ledger
import Negentropy
import NostrCore
import RelayClient

/// One NIP-77 session with a relay over one window: we initiate with the ledger's items, the relay
/// answers from its own set, and the rounds end with what each side lacks.
struct NegentropyExchange {
    let relay: Relay
    /// How long the first answer may take once the relay has answered a REQ sent right behind
    /// NEG-OPEN: a relay without NIP-77 often says nothing at all. A relay that answers neither
    /// is busy (a large store, a loaded machine) and is given `roundTimeout`.
    var openTimeout: Duration = .seconds(3)
    /// How long each later answer may take.
    var roundTimeout: Duration = .seconds(30)
    /// Bytes per message before hex encoding; strfry's default frame limit is well above twice this.
    var frameSizeLimit = 60_000
    /// Rounds before giving up: each round at least halves the ranges in doubt, so a real
    /// session needs a few dozen at most.
    static let maxRounds = 1_000

    enum Outcome: Sendable {
        case diff(have: [LedgerItem], need: [Bytes32], traffic: Traffic)
        /// The relay refused the session because the window holds too many events.
        case tooLarge(String)
        /// No NIP-77 here (no answer, a NOTICE, NEG-ERR or CLOSED, or a protocol we do not speak).
        case unsupported(String)
    }

    struct Traffic: Sendable {
        var messages = 0
        var bytes = 0
    }

    func run(filter: Filter, items: [LedgerItem]) async throws -> Outcome {
        // The window is sorted by (created_at, id), as the storage needs: the items the protocol
        // cannot carry (before 1970) are its first ones, and storage position p is items[kept + p].
        let kept = items.partitioningIndex { $0.createdAt >= 0 }
        var negItems: [NegentropyItem] = []
        negItems.reserveCapacity(items.count - kept)
        for item in items[kept...] {
            negItems.append(NegentropyItem(timestamp: UInt64(item.createdAt), id: NegentropyID(item.id)))
        }
        var initiator = try NegentropyInitiator(storage: NegentropyStorage(sortedItems: negItems), frameSizeLimit: frameSizeLimit)
        let subscription = "neg" + String(UInt32.random(in: .min ... .max), radix: 36)
        var traffic = Traffic()
        // What we have and the relay lacks, as positions in the window: no search of it at the end.
        var have = Set<Int>()
        var need: [Bytes32] = []
        var outgoing = NegentropyHex.encode(try initiator.initiate())
        var message = ClientMessage.negOpen(subscription: subscription, filter: filter, message: outgoing)
        for _ in 0..<Self.maxRounds {
            try Task.checkCancellation()
            traffic.messages += 1
            traffic.bytes += outgoing.utf8.count
            let answer: RelayMessage?
            if traffic.messages == 1 {
                switch await relay.exchange(message, subscription: subscription, timeout: roundTimeout, ignoredAfter: openTimeout, noticeAnswers: true) {
                case let .answer(first): answer = first
                case .ignored: return .unsupported("no answer to NEG-OPEN within \(openTimeout) of the answer to a REQ sent after it")
                case .silent:
                    throw ReconcileError(
                        relay: relay.url,
                        .sessionLost("no answer to NEG-OPEN, nor to a REQ sent after it, within \(roundTimeout) or before the connection ended"))
                }
            } else {
                answer = await relay.exchange(message, subscription: subscription, timeout: roundTimeout, noticeAnswers: true)
            }
            switch answer {
            case nil:
                throw ReconcileError(relay: relay.url, .sessionLost("no answer to NEG-MSG within \(roundTimeout)"))
            case let .notice(text)?:
                await relay.send(.negClose(subscription: subscription))
                return .unsupported("NOTICE: \(text.prefix(200))")
            case let .negErr(_, reason)?:
                // NIP-77's `blocked:` means the set is too large; LocalRelay says `rate-limited:`
                // for the same (its cap is about 50,000 items). Either way a smaller window may pass.
                switch RelayReason(reason).prefix {
                case .blocked?, .rateLimited?: return .tooLarge(reason)
                default: return .unsupported("NEG-ERR: \(reason.prefix(200))")
                }
            case let .closed(_, reason)?:
                return .unsupported("CLOSED: \(reason.raw.prefix(200))")
            case let .negMsg(_, text)?:
                traffic.messages += 1
                traffic.bytes += text.utf8.count
                let step: NegentropyStep
                do {
                    step = try initiator.reconcile(try NegentropyHex.decode(text))
                } catch {
                    await relay.send(.negClose(subscription: subscription))
                    if traffic.messages == 2 { return .unsupported("unusable NEG-MSG: \(error)") }
                    throw ReconcileError(relay: relay.url, .malformed("\(error)"))
                }
                have.formUnion(step.haveAt.lazy.map { kept + $0 })
                need.append(contentsOf: step.need.lazy.map(Bytes32.init))
                guard let next = step.next else {
                    await relay.send(.negClose(subscription: subscription))
                    return .diff(have: have.sorted().map { items[$0] }, need: need, traffic: traffic)
                }
                outgoing = NegentropyHex.encode(next)
                message = .negMsg(subscription: subscription, message: outgoing)
            case let other?:
                throw ReconcileError(relay: relay.url, .malformed("unexpected answer \(other)"))
            }
        }
        await relay.send(.negClose(subscription: subscription))
        throw ReconcileError(relay: relay.url, .malformed("no end after \(Self.maxRounds) rounds"))
    }
}
