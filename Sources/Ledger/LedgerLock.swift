import Foundation
import Synchronization

/// A SQLite ledger belongs to one agent: the agent holds an exclusive `flock` on `<ledger>.lock`
/// (which names its PID) for as long as it runs, and a second process is refused with that PID.
/// The kernel drops the lock when the holder dies, `kill -9` included, so a stale file never blocks.
/// Reporting commands (`status`, `relays`) read the ledger without it. Within one process the lock
/// is shared (a reloaded configuration's agent takes over from the last).
public final class LedgerLock: Sendable {
    public let path: String

    /// Held locks of this process: path → (descriptor, holders).
    private static let held = Mutex<[String: (fd: Int32, holders: Int)]>([:])

    private init(path: String) { self.path = path }

    /// Takes the lock for the ledger at `ledgerPath`, or says who holds it.
    public static func acquire(ledgerPath: String) throws(LedgerLockError) -> LedgerLock {
        let path = ledgerPath + ".lock"
        try held.withLock { (locks) throws(LedgerLockError) in
            if var mine = locks[path] {
                mine.holders += 1
                locks[path] = mine
                return
            }
            try? FileManager.default.createDirectory(
                at: URL(fileURLWithPath: ledgerPath).deletingLastPathComponent(), withIntermediateDirectories: true)
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LedgerLockError(path: ledgerPath, reason: .cannotOpen(String(cString: strerror(errno)))) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let holder = readPID(fd)
                close(fd)
                throw LedgerLockError(path: ledgerPath, reason: .held(pid: holder))
            }
            let text = "\(getpid())\n"
            _ = ftruncate(fd, 0)
            _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
            locks[path] = (fd, 1)
        }
        return LedgerLock(path: path)
    }

    /// The PID written in a held lock file, if it reads as one.
    public static func holder(ledgerPath: String) -> Int32? {
        let fd = open(ledgerPath + ".lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0 else {
            flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        Self.held.withLock { locks in
            guard var mine = locks[path] else { return }
            mine.holders -= 1
            if mine.holders > 0 {
                locks[path] = mine
            } else {
                flock(mine.fd, LOCK_UN)
                close(mine.fd)
                locks[path] = nil
            }
        }
    }
}

/// Why the ledger could not be taken.
public struct LedgerLockError: Error, CustomStringConvertible {
    enum Reason: Sendable {
        case held(pid: Int32?)
        case cannotOpen(String)
    }

    public let path: String
    let reason: Reason

    public var description: String {
        switch reason {
        case let .held(pid):
            "ledger \(path) is in use by another relaysync agent\(pid.map { " (PID \($0))" } ?? ""): a ledger belongs to one agent (status and relays may still read it)"
        case let .cannotOpen(why): "ledger \(path): cannot open its lock file \(path).lock: \(why)"
        }
    }
}
