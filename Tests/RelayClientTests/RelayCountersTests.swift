import NostrCore
import Testing

@testable import RelayClient

@Suite("Relay counters (no I/O)")
struct RelayCountersTests {
    @Test func repeatedOdditiesAreLoggedTwentyTimesThenOnceInAThousand() {
        var c = RelayCounters()
        let logged = (1...3000).filter { _ in c.countInvalid() }
        #expect(logged.count == 20 + 3)
        #expect(c.invalid == 3000)
        #expect(RelayCounters.worthLogging(1000) && !RelayCounters.worthLogging(21))
    }

    @Test func outcomesCountAsAcceptedOrRejectedAndFailuresAsNeither() {
        var c = RelayCounters()
        for outcome: PublishOutcome in [
            .accepted, .duplicate("x"), .rejected(RelayReason("blocked: no")),
            .rateLimited(RelayReason("rate-limited: slow")), .authRequired(RelayReason("auth-required: who")),
            .timedOut, .notConnected,
        ] {
            c.resolved(outcome)
        }
        #expect(c.accepted == 2)
        #expect(c.rejected == 3)
    }

    @Test func aConnectionIsProductiveAfterAHundredMessages() {
        var c = RelayCounters()
        for _ in 0..<99 { c.messageReceived() }
        #expect(!c.connectionWasProductive)
        c.messageReceived()
        #expect(c.connectionWasProductive)
        c.connectionOpened()
        #expect(!c.connectionWasProductive)
    }

    @Test func latencyIsSummarisedOnlyOnceSampled() {
        var c = RelayCounters()
        #expect(c.latency.reqToEOSE == nil)
        c.reqToEOSE.add(.milliseconds(10))
        c.reqToEOSE.add(.milliseconds(30))
        #expect(c.latency.reqToEOSE?.samples == 2)
        #expect(c.latency.eventToOK == nil && c.latency.ping == nil)
    }
}
