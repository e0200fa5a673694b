import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Latchkey's one handler on an HTTP/1.1 connection, between NIO's HTTP/1.1 codec and the request handling. It does
/// what three handlers did: turns NIO's request parts into Swift HTTP Types' parts and responses back (as
/// `HTTP1ToHTTPServerCodec` of swift-nio-extras does), closes the connection once its requests are answered when the
/// server shuts down gracefully (as Hummingbird's `HTTPConnectionStateHandler` does), and keeps Latchkey's guards.
/// Every handler costs each request's every event; the two it replaced were 6 % of a proxied call's CPU
/// (benchmarks/README.md, session 22).
///
/// The guards: it closes a connection whose client keeps it without moving on, a head not whole within the header
/// timeout (counted from its first bytes, or from the connection opening), no next request within the idle timeout,
/// or no body part within the body timeout while Latchkey asks for one. And it answers a request the codec cannot
/// parse, or whose request line or headers HTTP Types refuse (``MalformedRequestAnswer``).
///
/// The codec passes on the end of every read (`channelReadComplete`) whether or not a part was decoded: a read that
/// ends with no head since the last response brought a head's first bytes.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// No request yet on this connection, or none since the last response.
        case waiting(first: Bool)
        case readingHead
        case readingBody
        /// The request is in; Latchkey is answering (no deadline: a response may stream for long).
        case answering
    }

    private let limits: HTTPServerLimits
    private var phase = Phase.waiting(first: true)
    /// When the connection closes unless the phase moves on; nil while Latchkey answers.
    private var deadline: NIODeadline?
    /// The one check scheduled on the loop, and when it fires. Arming and disarming only move `deadline`: a check
    /// fires at most `checkEvery` after it was scheduled and schedules the next, so that a request costs no timer of
    /// its own (scheduling and cancelling three per request was 15 % of the proxy's CPU, benchmarks/README.md).
    private var timer: Scheduled<Void>?
    private var timerFires: NIODeadline?
    private var context: ChannelHandlerContext?
    private var malformed = MalformedRequestAnswer()
    /// Requests whose head came and whose response has not ended.
    private var requestsInProgress = 0
    /// The server is shutting down: the connection closes when its requests are answered.
    private var closeWhenAnswered = false

    /// The shortest limit: a deadline armed after the check was scheduled is never later than the check plus this.
    private var checkEvery: TimeAmount {
        .milliseconds(Int64(min(limits.headerTimeout, limits.idleTimeout, limits.bodyTimeout) * 1000))
    }

    init(limits: HTTPServerLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(limits.headerTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        deadline = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.headerTimeout)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            phase = .readingBody
            disarm()
            let request: HTTPRequest
            do {
                request = try HTTPRequest(head, secure: false, splitCookie: false)
            } catch {
                return errorCaught(context: context, error: error)
            }
            requestsInProgress += 1
            context.fireChannelRead(wrapInboundOut(.head(request)))
        case .body(let body):
            disarm()
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            phase = .answering
            disarm()
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    /// A read ended. While no head has come since the last response, what it brought is the start of one (a head that
    /// came whole in this read has moved the phase on already), and the header timeout runs from now. Watching reads
    /// end here, rather than bytes in a handler before the codec, spares every request a handler (benchmarks/README.md).
    func channelReadComplete(context: ChannelHandlerContext) {
        if case .waiting(let first) = phase {
            phase = .readingHead
            if !first { arm(limits.headerTimeout) }
        }
        context.fireChannelReadComplete()
    }

    /// Latchkey asks for more of the request: while a body is due, it must come within the body timeout.
    func read(context: ChannelHandlerContext) {
        if case .readingBody = phase, deadline == nil { arm(limits.bodyTimeout) }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        malformed.sending(part)
        switch part {
        case .head(let response):
            context.write(wrapOutboundOut(.head(HTTPResponseHead(response))), promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .end(let trailers):
            if case .answering = phase {
                phase = .waiting(first: false)
                arm(limits.idleTimeout)
            }
            requestsInProgress = max(0, requestsInProgress - 1)
            let end = wrapOutboundOut(.end(trailers.map(HTTPHeaders.init)))
            guard closeWhenAnswered, requestsInProgress == 0 else { return context.write(end, promise: promise) }
            context.writeAndFlush(end, promise: promise)
            context.close(promise: nil)
        }
    }

    /// The server shuts down gracefully: an idle connection closes now, one with a request in progress once it is
    /// answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if requestsInProgress > 0 {
            closeWhenAnswered = true
        } else {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard malformed.answer(error, context: context) else { return context.fireErrorCaught(error) }
    }

    private func arm(_ seconds: Double) {
        let now = NIODeadline.now()
        let due = now + .milliseconds(Int64(seconds * 1000))
        deadline = due
        // A check already due by then sees this deadline in time; otherwise one is scheduled (or brought forward).
        if let timerFires, timerFires <= due { return }
        schedule(at: min(due, now + checkEvery))
    }

    private func disarm() {
        deadline = nil
    }

    private func schedule(at time: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerFires = time
        // A strong reference, not a weak one: a weakly referenced object counts its references in a side table, which
        // made every event through this handler dearer (benchmarks/README.md). The timer is cancelled when the handler
        // is removed, which every closed channel does, so the reference does not outlive the connection.
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: time) { self.check() }
    }

    /// The scheduled check: closes the connection past its deadline, else looks again by the deadline or `checkEvery`.
    private func check() {
        timer = nil
        timerFires = nil
        guard let deadline else { return }
        let now = NIODeadline.now()
        if now >= deadline {
            context?.close(promise: nil)
        } else {
            schedule(at: min(deadline, now + checkEvery))
        }
    }
}
