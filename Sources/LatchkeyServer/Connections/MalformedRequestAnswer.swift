import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Answers a request the HTTP codec could not parse with Latchkey's JSON error (`400 invalid_request`) and closes the
/// connection, where Hummingbird would send an empty 400 (or, for a request line it cannot convert, nothing). When a
/// response has begun already, the connection is only closed.
final class MalformedRequestAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var responding = false
    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let what: String
        switch error {
        case let error as HTTPParserError: what = "the request is not valid HTTP/1.1 (\(error))"
        case is HTTP1TypeConversionError: what = "the request line or a header is not valid HTTP"
        default: return context.fireErrorCaught(error)
        }
        guard !answered else { return }
        answered = true
        guard !responding else { return context.close(promise: nil) }
        let body = context.channel.allocator.buffer(string: #"{"error":{"code":"invalid_request","message":"\#(what)"}}"#)
        let head = HTTPResponse(
            status: .badRequest,
            headerFields: [.contentType: "application/json", .contentLength: "\(body.readableBytes)", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responding = true
        case .end: responding = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
