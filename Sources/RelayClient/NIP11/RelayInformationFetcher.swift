import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Reads a relay's NIP-11 document: `GET` on the relay's address over HTTP(S) with
/// `Accept: application/nostr+json`. Bounded in time and size; failures mean "no document".
struct RelayInformationFetcher: Sendable {
    struct Target: Sendable, Equatable {
        var host: String
        var port: Int
        var path: String
        var tls: Bool

        /// `ws://h:p/x` → `http://h:p/x`, `wss://` → `https://`.
        init?(relayURL: String) {
            let lower = relayURL.lowercased()
            let rest: Substring
            if lower.hasPrefix("wss://") { tls = true; rest = relayURL.dropFirst(6) }
            else if lower.hasPrefix("ws://") { tls = false; rest = relayURL.dropFirst(5) }
            else if lower.hasPrefix("https://") { tls = true; rest = relayURL.dropFirst(8) }
            else if lower.hasPrefix("http://") { tls = false; rest = relayURL.dropFirst(7) }
            else { return nil }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                port = after.hasPrefix(":") ? Int(after.dropFirst()) ?? -1 : (tls ? 443 : 80)
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                port = Int(authority[authority.index(after: colon)...]) ?? -1
            } else {
                host = String(authority)
                port = tls ? 443 : 80
            }
            if host.isEmpty || !(1...65535).contains(port) { return nil }
        }

        var hostHeader: String {
            let h = host.contains(":") ? "[\(host)]" : host
            return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
        }

        var isIPAddress: Bool { host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." } }
    }

    struct Failure: Error, CustomStringConvertible {
        private enum Kind {
            case tooLarge(maxBody: Int)
        }

        let url: String
        private let kind: Kind

        static func tooLarge(_ url: String, maxBody: Int) -> Failure { Failure(url: url, kind: .tooLarge(maxBody: maxBody)) }

        var description: String {
            switch kind {
            case let .tooLarge(maxBody): "NIP-11 document of \(url) is larger than \(maxBody) bytes"
            }
        }
    }

    let url: String
    let logger: Logger
    var timeout: Duration = .seconds(5)
    var maxBody = 256 * 1024

    func fetch() async -> RelayInformation? {
        guard let target = Target(relayURL: url) else { return nil }
        let fetched = await withTimeout(timeout) { () -> Result<RelayInformation?, any Error> in
            do { return .success(try await self.get(target)) } catch { return .failure(error) }
        }
        switch fetched {
        case let .success(information)?:
            return information
        case let .failure(error)?:
            logger.debug("relay.nip11.unavailable", metadata: ["relay.reason": .string("\(error)")])
            return nil
        case nil:
            logger.debug("relay.nip11.unavailable", metadata: ["relay.reason": .string("no answer within \(timeout)")])
            return nil
        }
    }

    private func get(_ target: Target) async throws -> RelayInformation? {
        let sslContext = target.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let serverName = target.isIPAddress ? nil : target.host
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let (maxBody, url) = (self.maxBody, self.url)
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: target.hostHeader)
            headers.add(name: "Accept", value: "application/nostr+json")
            headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path, headers: headers)))
            try await outbound.write(.end(nil))
            var status: HTTPResponseStatus?
            var body = ByteBuffer()
            loop: for try await part in inbound {
                switch part {
                case let .head(head):
                    status = head.status
                case var .body(chunk):
                    guard body.readableBytes + chunk.readableBytes <= maxBody else {
                        throw Failure.tooLarge(url, maxBody: maxBody)
                    }
                    body.writeBuffer(&chunk)
                case .end:
                    break loop
                }
            }
            guard status == .ok else { return nil }
            return try RelayInformation(json: String(buffer: body))
        }
    }
}
