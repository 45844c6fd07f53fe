import Foundation

/// A child process a benchmark reaps itself, so its own rusage (CPU, peak RSS) is exact.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// `cleanSignals`: start with no signal blocked and default handlers (a spawn from one of Swift's
    /// pool threads otherwise inherits that thread's blocked SIGINT, and strace would never stop).
    public static func spawn(_ args: [String], output: String, cleanSignals: Bool = false) throws -> ChildProcess {
        var attr: posix_spawnattr_t = .init()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        if cleanSignals {
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attr, &none)
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
            posix_spawnattr_setsigdefault(&attr, &defaults)
            posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        }
        var actions: posix_spawn_file_actions_t = .init()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, args[0], &actions, &attr, argv, environ)
        guard rc == 0 else { throw PeerError("cannot start \(args[0]): \(rc)") }
        return ChildProcess(pid: pid)
    }
    /// `cpu` is user and system time together; `systemCPU` the system part of it (seconds).
    public func wait() -> (status: Int32, cpu: Double, peakRSS: Int, systemCPU: Double) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + system
        return (status, cpu, usage.ru_maxrss * 1024, system)
    }
}

/// The largest resident size noted, shared with a sampling task.
public final class PeakRSS: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0

    public init() {}
    public func note(_ b: Int) { lock.withLock { bytes = max(bytes, b) } }
    public var value: Int { lock.withLock { bytes } }

    /// Notes `pid`'s own VmHWM every `interval` until the task is cancelled (wait4's ru_maxrss
    /// would also count the parent's pages the child shared until exec).
    public func sampling(_ pid: pid_t, every interval: Duration) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
                    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM") {
                        note((Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024)
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
