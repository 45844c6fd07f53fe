import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NostrCore

/// Reads a relay's NIP-11 document: `GET` on the relay's address over HTTP(S) with
/// `Accept: application/nostr+json` (`RelayURL.informationURL`). Bounded in time and size;
/// failures mean "no document". Trusts what the relay's WebSocket trusts.
struct RelayInformationFetcher: Sendable {
    struct Failure: Error, CustomStringConvertible {
        private enum Kind {
            case tooLarge(maxBody: Int)
        }

        let url: RelayURL
        private let kind: Kind

        static func tooLarge(_ url: RelayURL, maxBody: Int) -> Failure { Failure(url: url, kind: .tooLarge(maxBody: maxBody)) }

        var description: String {
            switch kind {
            case let .tooLarge(maxBody): "NIP-11 document of \(url) is larger than \(maxBody) bytes"
            }
        }
    }

    let url: RelayURL
    let logger: Logger
    /// Trusted besides the system's roots (the relay's `tls_ca_file`).
    var additionalTrustRoots: [NIOSSLCertificate] = []
    var timeout: Duration = .seconds(5)
    var maxBody = 256 * 1024

    func fetch() async -> RelayInformation? {
        let target = url
        let fetched = await withTimeout(timeout) { () -> Result<RelayInformation?, any Error> in
            do { return .success(try await self.get(target)) } catch { return .failure(error) }
        }
        switch fetched {
        case let .success(information)?:
            return information
        case let .failure(error)?:
            logger.debug("relay information (NIP-11) unavailable", metadata: ["relay.reason": .string("\(error)")])
            return nil
        case nil:
            logger.debug("relay information (NIP-11) unavailable", metadata: ["relay.reason": .string("no answer within \(timeout)")])
            return nil
        }
    }

    private func get(_ target: RelayURL) async throws -> RelayInformation? {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !additionalTrustRoots.isEmpty { tls.additionalTrustRoots = [.certificates(additionalTrustRoots)] }
        let sslContext = target.secure ? try NIOSSLContext(configuration: tls) : nil
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
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: target.requestTarget, headers: headers)))
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

extension RelayURL {
    /// The HTTP `Host` header: the host (IPv6 in brackets) and the port unless it is the scheme's default.
    var hostHeader: String { port == defaultPort ? hostInURL : "\(hostInURL):\(port)" }
}
