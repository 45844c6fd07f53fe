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

    /// A PostgreSQL server's CPU so far: the postmaster's own and that of its children it has
    /// reaped (backends of closed connections), plus every live child's (backends, checkpointer,
    /// WAL writer). A child that exits between the two reads is missed: benchmarks only.
    public static func postgresSeconds(postmaster: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 1-based.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 14, let utime = Double(fields[11]), let stime = Double(fields[12]) else { continue }
            if Int32(entry) == postmaster {
                total += (utime + stime + (Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0)) / ticks
            } else if Int32(fields[1]) == postmaster {
                total += (utime + stime) / ticks
            }
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
