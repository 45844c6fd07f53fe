import Testing

@testable import Media

@Suite struct HostLimiterTests {
    /// Never more than the limit at once on one host; other hosts are not held up by it.
    @Test func boundsConnectionsPerHost() async throws {
        let limiter = HostLimiter(limit: 2)
        let gauge = Gauge()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await limiter.with(i % 4 == 0 ? "other" : "busy") {
                        await gauge.enter(i % 4 == 0 ? "other" : "busy")
                        // Work that gives way to the other tasks while it holds its slot.
                        for _ in 0..<200 { await Task.yield() }
                        await gauge.leave(i % 4 == 0 ? "other" : "busy")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(await gauge.peak["busy"] == 2)
        #expect(await gauge.peak["other"] ?? 0 <= 2)
        #expect(await gauge.now.values.allSatisfy { $0 == 0 })
    }

    @Test func aPausedHostSaysForHowLong() async {
        let limiter = HostLimiter(limit: 1)
        #expect(await limiter.pause(of: "h") == nil)
        await limiter.pause("h", for: .seconds(30))
        let left = await limiter.pause(of: "h")
        #expect(left != nil && left! > .seconds(29))
        await limiter.pause("h", for: .seconds(1))  // a shorter pause does not shorten it
        #expect(await limiter.pause(of: "h")! > .seconds(29))
        #expect(await limiter.pause(of: "other") == nil)
    }

    actor Gauge {
        var now: [String: Int] = [:]
        var peak: [String: Int] = [:]
        func enter(_ h: String) {
            now[h, default: 0] += 1
            peak[h] = max(peak[h] ?? 0, now[h]!)
        }
        func leave(_ h: String) { now[h, default: 0] -= 1 }
    }
}
