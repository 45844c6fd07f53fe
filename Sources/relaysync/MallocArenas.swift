import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// glibc gives a thread that meets contention an arena of its own, up to eight per core, and
/// memory freed into one arena serves only that arena. With the agent's threads (event loops,
/// verifiers, the ledger's queues, the concurrency pool) that held about 5 MiB more at the peak
/// of a 100,000-event mirror: 63.6 MiB against 58.4 MiB with one arena per core
/// (bench-reconcile, docs/bench-reports/issue-26.md). A MALLOC_ARENA_MAX set by the user wins.
enum MallocArenas {
    /// `M_ARENA_MAX` in glibc's <malloc.h>, which the Glibc module does not import.
    private static let arenaMax: Int32 = -8

    static func limitToCores() {
        #if canImport(Glibc)
            guard getenv("MALLOC_ARENA_MAX") == nil, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            _ = mallopt(arenaMax, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }
}
