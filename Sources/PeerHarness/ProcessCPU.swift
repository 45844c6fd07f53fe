import Foundation

/// CPU seconds (user + system) used so far, for benchmarks.
public enum ProcessCPU {
    /// This process.
    public static func ownSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return seconds(u)
    }

    /// Children that have exited and been waited for (for example a finished nostr-sdk tool).
    public static func reapedChildrenSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &u)
        return seconds(u)
    }

    /// Every live process in the process group led by `pid` (a relay and the workers it forked).
    public static func groupSeconds(_ pid: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, Int32(fields[2]) == pid,
                let utime = Double(fields[11]), let stime = Double(fields[12])
            else { continue }
            total += (utime + stime) / ticks
        }
        return total
    }

    /// Peak resident set of this process, in bytes.
    public static func ownPeakRSS() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss * 1024
    }

    private static func seconds(_ u: rusage) -> Double {
        Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }
}
