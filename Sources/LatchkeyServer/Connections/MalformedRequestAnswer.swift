import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Answers a request the HTTP codec could not parse with Latchkey's JSON error (`400 invalid_request`) and closes the
/// connection, where Hummingbird would send an empty 400 (or, for a request line it cannot convert, nothing). When a
/// response has begun already, the connection is only closed. ``RequestGuard`` shows it the connection's errors and
/// the response parts it writes, and it writes its answer past the guard, as NIO's encoder takes it.
struct MalformedRequestAnswer {
    /// A response's head has gone out and its end has not.
    private var responding = false
    private var answered = false

    /// Notes a response part on its way out.
    mutating func sending(_ part: HTTPResponsePart) {
        switch part {
        case .head(let head) where head.status.kind != .informational: responding = true
        case .end: responding = false
        default: break
        }
    }

    /// Answers `error` if the codec raised it (once per connection) and returns true; false for any other error, which
    /// the handler passes on.
    mutating func answer(_ error: any Error, context: ChannelHandlerContext) -> Bool {
        let what: String
        switch error {
        case let error as HTTPParserError: what = "the request is not valid HTTP/1.1 (\(error))"
        case is HTTP1TypeConversionError: what = "the request line or a header is not valid HTTP"
        default: return false
        }
        guard !answered else { return true }
        answered = true
        guard !responding else {
            context.close(promise: nil)
            return true
        }
        let body = context.channel.allocator.buffer(string: #"{"error":{"code":"invalid_request","message":"\#(what)"}}"#)
        // Written past the guard, straight to NIO's encoder.
        var head = HTTPResponseHead(version: .http1_1, status: .badRequest)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        head.headers.add(name: "Connection", value: "close")
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in context.close(promise: nil) }
        return true
    }
}
