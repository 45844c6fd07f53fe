import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text) and `GET /healthz` on the configured address, on
/// swift-nio's HTTP/1 server. One request per connection: scrapers and probes do not need more.
struct MetricsServer: Service {
    let host: String
    let port: Int
    let metrics: @Sendable () async -> [UInt8]
    let health: @Sendable () async -> HealthReport
    let logger: Logger
    /// Bound, for tests that ask for port 0; called once listening.
    var onListening: (@Sendable (Int) -> Void)?

    func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        onListening?(server.channel.localAddress?.port ?? port)
        logger.info("metrics listening", metadata: ["address": "\(host):\(server.channel.localAddress?.port ?? port)"])
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
            // Shutdown ends the listener by cancelling it: a stop, not a failure (thrown, it made
            // the whole daemon exit 1 on SIGTERM).
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var path: String?
            var method: HTTPMethod = .GET
            for try await part in inbound {
                switch part {
                case let .head(head):
                    path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
                    method = head.method
                case .body:
                    continue
                case .end:
                    let (status, type, body) = await respond(method: method, path: path ?? "")
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: String(body.count))
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    private func respond(method: HTTPMethod, path: String) async -> (HTTPResponseStatus, String, [UInt8]) {
        guard method == .GET || method == .HEAD else { return (.methodNotAllowed, "text/plain", Array("GET only\n".utf8)) }
        switch path {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", await metrics())
        case "/healthz":
            let report = await health()
            return (report.healthy ? .ok : .serviceUnavailable, "application/json", Array(JSONOutput.string(report).utf8))
        default:
            return (.notFound, "text/plain", Array("not found: try /metrics or /healthz\n".utf8))
        }
    }
}
