import NIOCore
import NIOHTTP1

/// What the head of a response hands the caller: status, headers, and the channel its body arrives on.
struct ResponseHead: Sendable {
    var status: Int
    var headers: [OutboundHeader]
    var body: ResponseBodyChannel
}

/// A failure of a reused keep-alive connection before any byte of the response arrived: the peer had closed it while
/// it sat idle. The client may send the request again on a new connection.
struct StaleConnection: Error {
    var underlying: OutboundError
}

/// The tail of one outbound HTTP/1.1 connection's pipeline: runs one exchange at a time, hands the response's head to
/// the waiting caller and its body to a ``ResponseBodyChannel``, and holds reads back while the body's reader is
/// behind (backpressure reaches the peer through TCP).
///
/// Everything here runs on the connection's event loop.
final class HTTP1ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// One request and response on the connection.
    private struct Exchange {
        let serial: Int
        let describe: ExchangeLabel
        let isHead: Bool
        let maxBodyBytes: Int
        var waiter: CheckedContinuation<ResponseHead, any Error>?
        var body: ResponseBodyChannel?
        var received = 0
        var keepAlive = true
        var requestSent = false
        var upload: OutboundUpload?
        let deadline: NIODeadline
    }

    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var serial = 0
    private var readPaused = false
    private var pendingRead = false
    private var closed = false
    /// The first error the channel reported, for an exchange that finds the connection already closed.
    private var closeReason: (any Error)?
    /// Exchanges this connection finished: a failure of the next one before its head may mean the peer closed it idle.
    private(set) var exchangesServed = 0
    /// When the connection last went back to its pool, and whether the pool's idle check is scheduled for it.
    var idleSince: NIODeadline?
    var idleCheckPending = false
    /// Called once an exchange ended and the connection may serve another.
    var onReusable: ((HTTP1ConnectionHandler) -> Void)?
    /// Called once when the connection closes.
    var onClosed: (() -> Void)?

    var isActive: Bool { !closed && (context?.channel.isActive ?? false) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    // MARK: - Starting an exchange (the client, on the loop)

    /// Writes the request and parks `waiter` until the response's head arrives (or the exchange fails).
    /// Returns the exchange's serial, for ``cancel(serial:)``.
    @discardableResult
    func start(
        head: HTTPRequestHead, body: [UInt8]?, upload: OutboundUpload?, maxBodyBytes: Int, describe: ExchangeLabel,
        deadline: NIODeadline, waiter: CheckedContinuation<ResponseHead, any Error>
    ) -> Int {
        serial += 1
        guard let context, isActive, exchange == nil else {
            // Closed before this exchange: by the peer while idle, or by a failure of its own (a TLS handshake).
            let error = closeReason.map { OutboundError(channelError: $0, describe: describe) }
                ?? OutboundError(code: .transport, message: "\(describe): the connection closed")
            waiter.resume(throwing: exchangesServed > 0 && error.code == .transport ? StaleConnection(underlying: error) : error)
            return serial
        }
        let exchange = Exchange(
            serial: serial, describe: describe, isHead: head.method == .HEAD, maxBodyBytes: maxBodyBytes, waiter: waiter, upload: upload,
            deadline: deadline)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let serial = self.serial
        self.exchange = exchange
        // One check per connection, not a timer per exchange: it stays scheduled across exchanges and is brought
        // forward only when this deadline comes sooner (a timer scheduled and cancelled per call cost the proxy 6 %).
        if timerFires.map({ $0 > deadline }) ?? true { scheduleCheck(at: deadline) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let upload {
            let loop = context.eventLoop
            upload.connect(onData: { loop.execute { bound.value.pumpUpload() } })
            pumpUpload()
        } else {
            if let body, !body.isEmpty, !exchange.isHead {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            // Written whole (a failed write closes the connection, which then serves nothing more).
            self.exchange?.requestSent = true
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        return serial
    }

    /// The caller's task was cancelled: fails exchange `serial` (if it is still the current one) and closes.
    func cancel(serial: Int) {
        fail(serial: serial, CancellationError())
    }

    // MARK: - Upload

    /// Writes what the upload has queued, while the channel takes more.
    private func pumpUpload() {
        guard let context else { return }
        while let current = exchange, let upload = current.upload, !current.requestSent, context.channel.isWritable {
            switch upload.take() {
            case .waiting:
                return
            case .failed:
                fail(serial: current.serial, OutboundError(code: .transport, message: "\(current.describe): the upload was aborted"))
                return
            case .chunks(let chunks, let finished):
                for chunk in chunks where !chunk.isEmpty {
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: chunk)))), promise: nil)
                }
                if finished {
                    exchange?.requestSent = true
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                context.flush()
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pumpUpload()
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Response

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var current = exchange else {
            // Bytes nobody asked for: the connection is out of step.
            close()
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard let waiter = current.waiter else { return close() }
            current.waiter = nil
            if !current.isHead, let length = head.headers.first(name: "content-length").flatMap(Int.init), length > current.maxBodyBytes {
                exchange = current
                waiter.resume(throwing: OutboundError(
                    code: .responseTooLarge, message: "\(current.describe): the response's \(length) bytes exceed \(current.maxBodyBytes)"))
                return finish(current.serial, closing: true)
            }
            let body = ResponseBodyChannel()
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let serial = current.serial
            body.connect(
                onDrain: { loop.execute { bound.value.resumeReading() } },
                onAbandon: { loop.execute { bound.value.abandon(serial: serial) } })
            current.body = body
            current.keepAlive = head.isKeepAlive
            exchange = current
            waiter.resume(returning: ResponseHead(
                status: Int(head.status.code), headers: head.headers.map { OutboundHeader(name: $0.name, value: $0.value) }, body: body))
        case .body(let buffer):
            current.received += buffer.readableBytes
            exchange = current
            guard current.received <= current.maxBodyBytes else {
                return fail(serial: current.serial, OutboundError(
                    code: .responseTooLarge, message: "\(current.describe): the response exceeded \(current.maxBodyBytes) bytes"))
            }
            switch current.body?.deliver(Array(buffer.readableBytesView)) {
            case .more, nil: break
            case .pause: readPaused = true
            case .abandoned: abandon(serial: current.serial)
            }
        case .end:
            exchange = current
            // Back in the pool before the reader learns the body ended: its next call then finds the connection.
            finish(current.serial, closing: !(current.keepAlive && current.requestSent))
            current.body?.finish(nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let current = exchange {
            let error = OutboundError(code: .transport, message: "\(current.describe): the peer closed the connection")
            fail(serial: current.serial, current.waiter != nil && exchangesServed > 0 ? StaleConnection(underlying: error) : error)
        }
        markClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closeReason == nil { closeReason = error }
        if let current = exchange {
            let mapped = OutboundError(channelError: error, describe: current.describe)
            let stale = current.waiter != nil && exchangesServed > 0 && mapped.code == .transport
            fail(serial: current.serial, stale ? StaleConnection(underlying: mapped) : mapped)
        }
        close()
    }

    // MARK: - Backpressure

    func read(context: ChannelHandlerContext) {
        if readPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    private func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    // MARK: - Ending

    /// The body's reader gave up before its end: the rest of the body is unread, so the connection cannot be reused.
    private func abandon(serial: Int) {
        guard exchange?.serial == serial else { return }
        finish(serial, closing: true)
    }

    /// Fails exchange `serial`: its waiter when the head has not arrived, else its body.
    private func fail(serial: Int, _ error: any Error) {
        guard let current = exchange, current.serial == serial else { return }
        if let waiter = current.waiter {
            exchange?.waiter = nil
            waiter.resume(throwing: error)
        } else {
            current.body?.finish(error)
        }
        finish(serial, closing: true)
    }

    private func finish(_ serial: Int, closing: Bool) {
        guard let current = exchange, current.serial == serial else { return }
        exchange = nil
        current.upload?.close()
        exchangesServed += 1
        readPaused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
        if !closing, !closed, let onReusable {
            onReusable(self)
        } else {
            // Closing, or a connection that serves one request only (opened under a narrow address policy).
            close()
        }
    }

    // MARK: - Timeout

    private var timer: Scheduled<Void>?
    private var timerFires: NIODeadline?

    private func scheduleCheck(at time: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerFires = time
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: time) { bound.value.checkDeadline() }
    }

    /// Fails the exchange in flight past its deadline; else looks again at its deadline, or stops while idle.
    private func checkDeadline() {
        timer = nil
        timerFires = nil
        guard let current = exchange else { return }
        if NIODeadline.now() >= current.deadline {
            fail(serial: current.serial, OutboundError(code: .timeout, message: "\(current.describe): the timeout passed"))
        } else {
            scheduleCheck(at: current.deadline)
        }
    }

    /// Hands back a connection that was taken for an exchange that never started: to its pool when it has one,
    /// else closed.
    func releaseUnused() {
        guard exchange == nil, !closed else { return }
        if let onReusable { onReusable(self) } else { close() }
    }

    /// Fails the exchange in flight, if any, with `error`, and closes the connection.
    func abort(_ error: OutboundError) {
        if let current = exchange { fail(serial: current.serial, error) }
        close()
    }

    /// Closes the connection (idempotent).
    func close() {
        guard !closed else { return }
        if let current = exchange {
            exchange = nil
            current.upload?.close()
            let error = OutboundError(code: .transport, message: "\(current.describe): the connection closed")
            if let waiter = current.waiter { waiter.resume(throwing: error) } else { current.body?.finish(error) }
        }
        markClosed()
        context?.close(promise: nil)
    }

    private func markClosed() {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        onReusable = nil
        let onClosed = self.onClosed
        self.onClosed = nil
        onClosed?()
    }
}
