import NIOCore
import Synchronization

/// Defers the socket's next read while many EVENTs await their OKs. A relay that stores events one
/// at a time (LMDB, fsync per event) answers each with its own packet; read at once, every OK costs
/// a wake-up of the event loop and of the reader task. Waiting a few milliseconds lets several OKs
/// arrive in one read. The delay is far below the time a full window takes to drain, so throughput
/// does not change, and it applies only during bulk publishing: a quiet connection reads at once.
final class ReadPacer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny

    /// How long a read waits while publishing in bulk.
    static let delay: TimeAmount = .milliseconds(10)
    /// EVENTs awaiting OKs from which publishing counts as bulk: one live event never waits.
    static let bulkThreshold = 16

    /// The count of EVENTs awaiting OKs, kept by the relay core, read by the channel's event loop.
    final class Gauge: Sendable {
        private let awaiting = Atomic<Int>(0)
        func set(awaitingReplies count: Int) { awaiting.store(count, ordering: .relaxed) }
        var isBulk: Bool { awaiting.load(ordering: .relaxed) >= ReadPacer.bulkThreshold }
    }

    private let gauge: Gauge
    private var deferred: Scheduled<Void>?

    init(gauge: Gauge) { self.gauge = gauge }

    func read(context: ChannelHandlerContext) {
        guard deferred == nil else { return }
        guard gauge.isBulk else {
            context.read()
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deferred = context.eventLoop.assumeIsolated().scheduleTask(in: Self.delay) { [self] in
            deferred = nil
            bound.value.read()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deferred?.cancel()
        deferred = nil
    }
}
