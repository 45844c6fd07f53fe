import Foundation

/// An unused TCP port on 127.0.0.1 (the kernel picks it; a race with
/// another process taking it before the relay binds is possible but rare).
public enum FreePort {
    public static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PeerError("bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A minimal HTTP/1.0 GET of `path` on loopback (2 s timeout); the raw response.
    public static func httpGet(port: Int, path: String = "/", accept: String = "*/*") -> String? {
        httpRequest("GET", port: port, path: path, accept: accept)
    }

    /// A minimal HTTP/1.0 request without a body on loopback, waiting at most `timeoutSeconds` for
    /// each read; the raw response (a HEAD's is its status line and headers).
    public static func httpRequest(
        _ method: String, port: Int, path: String = "/", accept: String = "*/*", timeoutSeconds: Int = 2
    ) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        let request = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nAccept: \(accept)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<256 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            response += buf[0..<n]
        }
        return response.isEmpty ? nil : String(decoding: response, as: UTF8.self)
    }

    /// True when process `pid` itself holds a socket listening on port `port` of 127.0.0.1 or of
    /// every address (Linux: the socket's inode in /proc/net/tcp among /proc/PID/fd's links).
    public static func isListening(_ port: Int, by pid: pid_t) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let local = Set(["0100007F", "00000000"].map { $0 + ":" + String(format: "%04X", port) })
        // Columns: sl, local_address, rem_address, st (0A: LISTEN), tx:rx, tr:when, retrnsmt, uid, timeout, inode.
        let inodes = Set(
            table.split(separator: "\n").dropFirst().compactMap { line -> String? in
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count > 9, local.contains(String(f[1])), f[3] == "0A" else { return nil }
                return "socket:[\(f[9])]"
            })
        guard !inodes.isEmpty, let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return false }
        return fds.contains { fd in (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")).map(inodes.contains) ?? false }
    }

    /// True when something accepts TCP connections on 127.0.0.1:port.
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
