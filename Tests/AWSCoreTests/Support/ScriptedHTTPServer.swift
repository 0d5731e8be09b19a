import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP server on 127.0.0.1 whose answers a test scripts: the IMDS double and the fault injector
/// for retry tests. It records every request it saw.
final class ScriptedHTTPServer: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: HTTPHeaders
        var body: String
    }
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: String = ""
        /// Close the connection without answering (a reset, as far as the client knows).
        var dropConnection = false
        /// Send the head (with the full Content-Length) and only this many body bytes, then close.
        var truncateBodyAt: Int?
    }
    typealias Handler = @Sendable (Request) -> Response

    let port: Int
    private let channel: any Channel
    private let seen = NIOLockedValueBox<[Request]>([])

    var requests: [Request] { seen.withLockedValue { $0 } }

    init(handler: @escaping Handler) async throws {
        let seen = self.seen
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Connection(handler: handler, seen: seen))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    func stop() async { try? await channel.close() }

    private final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let handler: Handler
        let seen: NIOLockedValueBox<[Request]>
        var head: HTTPRequestHead?
        var body = ""

        init(handler: @escaping Handler, seen: NIOLockedValueBox<[Request]>) {
            self.handler = handler
            self.seen = seen
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
            case .body(var buffer):
                body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                guard let head else { return }
                let request = Request(method: head.method.rawValue, uri: head.uri, headers: head.headers, body: body)
                seen.withLockedValue { $0.append(request) }
                let response = handler(request)
                if response.dropConnection {
                    context.close(promise: nil)
                    return
                }
                var headers = HTTPHeaders(response.headers)
                headers.replaceOrAdd(name: "Content-Length", value: String(response.body.utf8.count))
                let status = HTTPResponseStatus(statusCode: response.status)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                if let cut = response.truncateBodyAt {
                    let part = ByteBuffer(bytes: Array(response.body.utf8.prefix(cut)))
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part)))).whenComplete { _ in context.close(promise: nil) }
                    return
                }
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
