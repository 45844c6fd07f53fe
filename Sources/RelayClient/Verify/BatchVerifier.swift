import NostrCore

/// Verifies the events of one read together. A signature check is most of what an incoming
/// event costs, and all of one connection's frames are read on one event loop, so a large fetch
/// from one relay would otherwise use one core. A helper thread is offered the batch and claims
/// chunks of it while the reading thread claims the rest; when the helper does not get a core
/// in time the reading thread simply does every chunk, and waits only for a chunk the helper has
/// actually started.
enum BatchVerifier {
    /// Below this many events the hand-off costs more than it saves.
    static let parallelFrom = 16
    static let chunk = 4

    static func verify(_ events: [Event]) -> [EventVerification] {
        // Small reads are the live path, where the same note comes from several primaries.
        guard events.count >= parallelFrom else { return events.map { RecentSignatures.shared.verify($0) } }
        var out = [EventVerification](repeating: .valid, count: events.count)
        out.withUnsafeMutableBufferPointer { buffer in
            let job = VerifyJob(events: events, out: buffer, chunk: chunk)
            VerifyHelper.shared.offer(job)
            let finishedLast = job.work()
            VerifyHelper.shared.withdraw(job)
            if !finishedLast { job.waitForHelper() }
        }
        return out
    }
}
