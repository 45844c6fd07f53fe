import NIOCore
import NIOEmbedded
import Testing

@testable import RelayClient

/// Counts the reads that reach the socket end of the pipeline.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

@Suite("Read pacing while publishing in bulk (no I/O)")
struct ReadPacerTests {
    fileprivate func channel(_ gauge: ReadPacer.Gauge) throws -> (EmbeddedChannel, ReadCounter) {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(ReadPacer(gauge: gauge))
        return (channel, counter)
    }

    @Test func aQuietConnectionReadsAtOnce() throws {
        let gauge = ReadPacer.Gauge()
        let (channel, counter) = try channel(gauge)
        gauge.set(awaitingReplies: ReadPacer.bulkThreshold - 1)
        channel.read()
        channel.read()
        #expect(counter.reads == 2)
        _ = try channel.finish()
    }

    @Test func bulkPublishingDefersReadsAndMergesThem() throws {
        let gauge = ReadPacer.Gauge()
        let (channel, counter) = try channel(gauge)
        gauge.set(awaitingReplies: 250)
        channel.read()
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: ReadPacer.delay - .milliseconds(1))
        #expect(counter.reads == 0)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(counter.reads == 1, "two reads asked during one delay reach the socket as one")
        // Once the window has drained, reads are immediate again.
        gauge.set(awaitingReplies: 0)
        channel.read()
        #expect(counter.reads == 2)
        _ = try channel.finish()
    }

    @Test func aDeferredReadIsDroppedWhenTheHandlerGoes() throws {
        let gauge = ReadPacer.Gauge()
        let (channel, counter) = try channel(gauge)
        gauge.set(awaitingReplies: 250)
        channel.read()
        _ = try channel.finish()
        channel.embeddedEventLoop.advanceTime(by: ReadPacer.delay * 2)
        #expect(counter.reads == 0)
    }
}
