import Foundation
import PeerHarness
import Testing

/// A media peer counts as started only once its own process listens: a port picked free can be
/// taken by another test's peer first (a Blossom test once uploaded to the wrong server that way).
struct PeerPortOwnershipTests {
    @Test func aPortCountsAsListeningOnlyForTheProcessHoldingIt() throws {
        // Close-on-exec: a child would otherwise hold the listening socket too.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(fd, 1) == 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))

        let other = try ChildProcess.spawn(["/bin/sleep", "30"], output: "/dev/null")
        defer {
            kill(other.pid, SIGKILL)
            _ = other.wait()
        }
        #expect(FreePort.isListening(port))
        #expect(FreePort.isListening(port, by: getpid()))
        #expect(!FreePort.isListening(port, by: other.pid))
        close(fd)
        #expect(!FreePort.isListening(port, by: getpid()))
    }
}
