import Foundation
import NostrCore

/// Whether a relay URL names this machine or a private network. Relay lists are other people's
/// words: one naming `ws://127.0.0.1:8080` or `ws://192.168.1.1` would make the agent probe the
/// operator's own network. Only what the URL says is judged (literal addresses and local names);
/// a public name that resolves to a private address is not looked up.
enum PrivateAddress {
    /// Why `url` is private or local, or nil for a public address.
    static func reason(_ url: RelayURL) -> String? {
        let bare = url.host
        if bare == "localhost" || bare.hasSuffix(".localhost") { return "loopback address" }
        if bare.hasSuffix(".local") || bare.hasSuffix(".internal") || bare.hasSuffix(".lan") { return "local network name" }
        if let v4 = ipv4(bare) { return reason(v4: v4) }
        if bare.contains(":"), let v6 = ipv6(bare) { return reason(v6: v6) }
        return nil
    }

    private static func reason(v4 a: [UInt8]) -> String? {
        switch (a[0], a[1]) {
        case (127, _): "loopback address"
        case (10, _), (192, 168): "private address"
        case (172, 16...31): "private address"
        case (169, 254): "link-local address"
        case (100, 64...127): "shared address space (carrier-grade NAT)"
        case (0, _): "unspecified address"
        default: nil
        }
    }

    private static func reason(v6 a: [UInt8]) -> String? {
        if a[0..<15].allSatisfy({ $0 == 0 }) { return a[15] == 1 ? "loopback address" : "unspecified address" }
        if a[0] & 0xfe == 0xfc { return "private address" }
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return "link-local address" }
        // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address it carries.
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff { return reason(v4: Array(a[12..<16])) }
        return nil
    }

    private static func ipv4(_ s: String) -> [UInt8]? {
        var addr = in_addr()
        guard inet_pton(AF_INET, s, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    private static func ipv6(_ s: String) -> [UInt8]? {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, s, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }
}
