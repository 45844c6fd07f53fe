/// At most `limit` connections to one host at a time; the others wait their turn in order. A host
/// that answered 429 is left alone until its Retry-After has passed, by every fetch.
actor HostLimiter {
    private let limit: Int
    private var active: [String: Int] = [:]
    private var pausedUntil: [String: ContinuousClock.Instant] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    init(limit: Int) { self.limit = max(1, limit) }

    /// How long `host` asked to be left alone, if it still does.
    func pause(of host: String) -> Duration? {
        guard let until = pausedUntil[host] else { return nil }
        let left = until - .now
        if left <= .zero {
            pausedUntil[host] = nil
            return nil
        }
        return left
    }

    func pause(_ host: String, for duration: Duration) {
        let until = ContinuousClock.now + duration
        if let current = pausedUntil[host], current >= until { return }
        pausedUntil[host] = until
        if pausedUntil.count > 4096 { pausedUntil = pausedUntil.filter { $0.value > .now } }
    }

    func acquire(_ host: String) async {
        if active[host, default: 0] < limit {
            active[host, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiting[host, default: []].append($0) }
    }

    func release(_ host: String) {
        if var queue = waiting[host], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[host] = queue.isEmpty ? nil : queue
            next.resume()  // the slot passes to the next waiter
            return
        }
        active[host, default: 1] -= 1
        if active[host] == 0 { active[host] = nil }
    }

    func with<T: Sendable>(_ host: String, _ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire(host)
        do {
            let r = try await body()
            release(host)
            return r
        } catch {
            release(host)
            throw error
        }
    }
}
