import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a client may take to send what it sends: the whole request head within `headerTimeout` of the
/// connection opening or of its previous response (Hummingbird's idle timeout, which only counts completed
/// HTTP parts, so a head dripped byte by byte still runs out), and the body within `bodyTimeout`.
package struct RequestLimits: Sendable {
    package var headerTimeout: Duration
    package var bodyTimeout: Duration
    package var maximumBody: Int

    package init(headerTimeout: Duration = .seconds(20), bodyTimeout: Duration = .seconds(30), maximumBody: Int = 4 << 20) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maximumBody = maximumBody
    }
}

/// Answers a request the HTTP decoder refused (a header line over its 80 KiB limit, malformed framing) with an
/// AWS-style error instead of dropping the connection silently. NIO's own `HTTPServerProtocolErrorHandler`
/// cannot sit here: Hummingbird's pipeline speaks HTTPTypes parts after its codec, and this does the same job
/// on those.
final class DecoderErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let tooLarge = parserError == .headerOverflow
        let status: HTTPResponse.Status = tooLarge ? .init(code: 431, reasonPhrase: "Request Header Fields Too Large") : .badRequest
        let message = tooLarge ? "The request's header is larger than 80 KiB." : "The request is not valid HTTP/1.1 (\(parserError))."
        let body = FSxService.errorBody(FSxError(tooLarge ? "RequestHeaderFieldsTooLarge" : "BadRequest", message, status: Int(status.code)))
        var fields = HTTPFields()
        fields[.contentType] = "application/x-amz-json-1.1"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        // Close our side once the answer is out; whatever the client still sends is read and dropped for a moment
        // so that its unread bytes do not turn our answer into a reset before it reads it.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        context.fireChannelRead(data)
    }
}

extension RequestLimits {
    /// The HTTP/1.1 server with these limits and the decoder-error answer.
    var server: HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [DecoderErrorResponder()], idleTimeout: TimeAmount(headerTimeout)))
    }
}
