import NIOCore
import Synchronization

/// Text frames the core queued for the current connection. The writer takes everything queued
/// at once, so a burst of EVENTs leaves in one write and one flush rather than one per frame.
/// After `finish()` the writer still gets what was queued before it, then nil.
final class Outbox: Sendable {
    private struct State {
        var texts: [OutboundText] = []
        var finished = false
        var cancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    init() {}

    func yield(_ text: String) {
        enqueue(OutboundText(bytes: ByteBuffer(string: text)))
    }

    /// A text frame's payload already as bytes (an EVENT made by `OutboundEvent`).
    func yield(_ bytes: ByteBuffer) {
        enqueue(OutboundText(bytes: bytes))
    }

    private func enqueue(_ text: OutboundText) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.finished else { return nil }
            s.texts.append(text)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Whether a `next()` is parked waiting for work (tests wait for this instead of sleeping).
    var hasWaiter: Bool { state.withLock { $0.waiter != nil } }

    /// Everything queued since the last call; waits while nothing is; nil once finished and drained
    /// or when the calling task is cancelled.
    func next() async -> [OutboundText]? {
        while !Task.isCancelled {
            enum Step { case take([OutboundText]), end, wait }
            let step = state.withLock { s -> Step in
                if !s.texts.isEmpty {
                    let taken = s.texts
                    s.texts = []
                    return .take(taken)
                }
                return s.finished || s.cancelled ? .end : .wait
            }
            switch step {
            case let .take(texts): return texts
            case .end: return nil
            case .wait: await waitForWork()
            }
        }
        return nil
    }

    private func waitForWork() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.texts.isEmpty || s.finished || s.cancelled { return true }
                    s.waiter = c
                    return false
                }
                if ready { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }
}

/// One text frame's payload as queued: UTF-8 bytes, ready for the frame.
struct OutboundText: Sendable, Equatable, ExpressibleByStringLiteral {
    var bytes: ByteBuffer

    init(bytes: ByteBuffer) { self.bytes = bytes }

    init(stringLiteral text: String) { bytes = ByteBuffer(string: text) }
}
