import AsyncHTTPClient
import NIOCore

/// HTTP clients that connect to one resolved address per host (AsyncHTTPClient's `dnsOverride`;
/// TLS still checks the certificate against the name), so the address judged is the address
/// used. Kept per (host, address) for connection reuse, at most `capacity` at once.
actor PinnedClients {
    private let group: any EventLoopGroup
    private let base: HTTPClient.Configuration
    private let capacity: Int
    private var clients: [ResolvedTarget: HTTPClient] = [:]
    private var order: [ResolvedTarget] = []
    private var closed = false

    init(group: any EventLoopGroup, timeout: HTTPClient.Configuration.Timeout, capacity: Int = 32) {
        self.group = group
        var c = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: timeout, decompression: .disabled)
        c.connectionPool = .init(idleTimeout: .seconds(30))
        // A source that refuses is one candidate of several: fail at once and try the next, rather
        // than let the pool retry the connection until its connect timeout (10 s per refused host).
        c.connectionPool.retryConnectionEstablishment = false
        base = c
        self.capacity = capacity
    }

    func client(for target: ResolvedTarget) -> HTTPClient? {
        guard !closed else { return nil }
        if let c = clients[target] { return c }
        var config = base
        if !target.isLiteral { config.dnsOverride = [target.host: target.address] }
        let c = HTTPClient(eventLoopGroup: group, configuration: config)
        clients[target] = c
        order.append(target)
        if order.count > capacity {
            let old = order.removeFirst()
            if let o = clients.removeValue(forKey: old) { Task { try? await o.shutdown() } }
        }
        return c
    }

    func shutdown() async {
        closed = true
        let all = clients.values
        clients = [:]
        order = []
        for c in all { try? await c.shutdown() }
    }
}
