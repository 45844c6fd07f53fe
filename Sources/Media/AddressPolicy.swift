import Foundation

/// Whether a URL from someone else's note may be fetched: http(s) only, and no loopback, private,
/// link-local, CGNAT or unspecified address, judged on every address its name resolves to (a
/// public name pointing at 127.0.0.1 is refused) and again at every redirect. The operator's own
/// servers (backup servers, sources) are trusted by origin.
struct AddressPolicy: Sendable {
    var allowPrivate: Bool
    var trusted: Set<Origin>

    /// The address to connect to for `url` (pinned, so a second lookup cannot differ), or why not.
    func resolve(_ url: String) async -> Result<ResolvedTarget, FetchFailure> {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased() else { return .failure(.init(.badURL, "not a URL")) }
        guard scheme == "http" || scheme == "https" else { return .failure(.init(.badURL, "scheme \(scheme) is not http or https")) }
        guard c.user == nil, c.password == nil else { return .failure(.init(.badURL, "credentials in URL")) }
        guard let rawHost = c.host?.lowercased(), !rawHost.isEmpty, let origin = Origin(url: url) else {
            return .failure(.init(.badURL, "no host"))
        }
        let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let judged = !(allowPrivate || trusted.contains(origin))
        if judged,
            host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host.hasSuffix(".internal")
                || host.hasSuffix(".lan") || (!host.contains(".") && !host.contains(":"))
        {
            return .failure(.init(.privateAddress, "local name \(host)"))
        }
        let addresses: [[UInt8]]
        if let literal = Self.literal(host) {
            addresses = [literal]
        } else {
            let port = origin.port
            let looked = await Task.detached { Self.lookup(host, port: port) }.value
            guard !looked.isEmpty else { return .failure(.init(.dns, "\(host) does not resolve")) }
            addresses = looked
        }
        if judged {
            for a in addresses {
                if let why = Self.reason(a) { return .failure(.init(.privateAddress, "\(host) is a \(why) (\(Self.text(a)))")) }
            }
        }
        return .success(ResolvedTarget(host: host, address: Self.text(addresses[0]), isLiteral: Self.literal(host) != nil))
    }

    /// Why an address (4 or 16 bytes) is not public, or nil.
    static func reason(_ a: [UInt8]) -> String? {
        if a.count == 4 {
            switch (a[0], a[1]) {
            case (127, _): return "loopback address"
            case (10, _), (192, 168): return "private address"
            case (172, 16...31): return "private address"
            case (169, 254): return "link-local address"
            case (100, 64...127): return "shared address (carrier-grade NAT)"
            case (0, _): return "unspecified address"
            case (224...255, _): return "multicast or reserved address"
            default: return nil
            }
        }
        guard a.count == 16 else { return "unknown address" }
        if a[0..<15].allSatisfy({ $0 == 0 }) { return a[15] == 1 ? "loopback address" : "unspecified address" }
        if a[0] & 0xfe == 0xfc { return "private address" }
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return "link-local address" }
        if a[0] == 0xff { return "multicast address" }
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff { return reason(Array(a[12..<16])) }
        return nil
    }

    static func literal(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    static func text(_ a: [UInt8]) -> String {
        if a.count == 4 { return a.map(String.init).joined(separator: ".") }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: a) }
        inet_ntop(AF_INET6, &v6, &buf, socklen_t(buf.count))
        return String(cString: buf)
    }

    /// Every address the name resolves to (blocking; run off the shared pool's hot path).
    static func lookup(_ host: String, port: Int) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else { return [] }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p, out.count < 32 {
            if ai.pointee.ai_family == AF_INET, let sa = ai.pointee.ai_addr {
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s in out.append(withUnsafeBytes(of: s.pointee.sin_addr) { Array($0) }) }
            } else if ai.pointee.ai_family == AF_INET6, let sa = ai.pointee.ai_addr {
                sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s in out.append(withUnsafeBytes(of: s.pointee.sin6_addr) { Array($0) }) }
            }
            p = ai.pointee.ai_next
        }
        return out
    }
}

/// Where to connect for a URL's host.
struct ResolvedTarget: Sendable, Hashable {
    var host: String
    var address: String
    var isLiteral: Bool
}
