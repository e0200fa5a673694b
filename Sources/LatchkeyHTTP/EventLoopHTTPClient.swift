import LatchkeyRuntime
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An ``HTTPTransport`` on SwiftNIO's HTTP/1.1 codec, running on the event loops it is given (the server's own), with
/// a keep-alive pool per event loop and origin.
///
/// A call runs on the loop its task runs on when that loop belongs to the group (the server's handlers do), so a
/// proxied call never crosses threads. The rules are ``CurlHTTPClient``'s: ``OutboundURLPolicy`` before any I/O, the
/// request's address policy on every address before connecting (a connection under a narrower policy is never
/// reused), connect and total timeouts, the response size cap, streaming both ways with backpressure, no redirects
/// unless the request asks (``RedirectFollowing``), and TLS with the peer's certificate and name verified against
/// the system's trust store and ``OutboundTrust``'s added authorities. Proxies from the environment do not apply:
/// the composition uses ``CurlHTTPClient`` when one is set.
///
/// A request that finds its pooled connection closed by the peer before any byte of the answer is sent again once on
/// a new connection (as curl does), unless its body is a streamed upload, which cannot be replayed.
public final class EventLoopHTTPClient: HTTPTransport, Sendable {
    /// The most idle keep-alive connections kept per event loop and origin.
    public static let defaultMaxIdlePerOrigin = 64

    private let group: any EventLoopGroup
    private let pool: EventLoopConnectionPool
    private let tls: NIOSSLContext
    private let isShutDown = Atomic<Bool>(false)

    /// A client on `group`'s loops (pass the server's group). Throws ``OutboundError`` `.tlsFailed` when an added CA
    /// file cannot be loaded.
    public init(
        group: any EventLoopGroup, trust: OutboundTrust = .system, maxIdlePerOrigin: Int = defaultMaxIdlePerOrigin,
        idleTimeout: Duration = .seconds(60)
    ) throws {
        self.group = group
        self.pool = EventLoopConnectionPool(maxIdlePerKey: max(1, maxIdlePerOrigin), idleTimeout: .nanoseconds(idleTimeout.nanoseconds))
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .default
        configuration.additionalTrustRoots = trust.additionalCAFiles.map { .file($0) }
        do {
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw OutboundError(code: .tlsFailed, message: "the outbound TLS configuration cannot be loaded (\(error))")
        }
    }

    /// Closes every connection: exchanges in flight and later calls fail with ``OutboundError/Code/cancelled``.
    public func shutdown() {
        isShutDown.store(true, ordering: .relaxed)
        pool.shutdown()
    }

    /// Idle keep-alive connections in the pool.
    public var idleConnections: Int { pool.idleCount }

    /// Open connections, idle or serving an exchange.
    public var openConnections: Int { pool.openCount }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        try await RedirectFollowing.send(request, target: try OutboundURLPolicy.checked(request)) { request, target in
            let head = try await exchange(request, target, upload: nil)
            let response = try await OutboundStreamingResponse(
                status: head.status, headers: head.headers, body: OutboundBodyStream(channel: head.body)
            ).collected(upTo: max(0, request.maxResponseBytes))
            return (response, response.header("location").flatMap { ParsedURL.resolve($0, against: request.url) })
        }
    }

    public func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse {
        let head = try await exchange(request, try OutboundURLPolicy.checked(request), upload: upload)
        return OutboundStreamingResponse(status: head.status, headers: head.headers, body: OutboundBodyStream(channel: head.body))
    }

    // MARK: - One exchange

    private func exchange(_ request: OutboundRequest, _ target: ParsedURL, upload: OutboundUpload?) async throws -> ResponseHead {
        do {
            try OutboundRequest.validate(request)
            try Task.checkCancellation()
        } catch {
            upload?.close()
            throw error
        }
        guard !isShutDown.load(ordering: .relaxed) else {
            upload?.close()
            throw OutboundError(code: .cancelled, message: "the HTTP client is shut down")
        }
        let describe = ExchangeLabel(method: request.method, target: target)
        let deadline = NIODeadline.now() + .nanoseconds(request.totalTimeout.nanoseconds)
        let loop = group.any()
        let key = EventLoopConnectionPool.Key(loop: ObjectIdentifier(loop), scheme: target.scheme, host: target.host, port: target.port)
        let head = Self.requestHead(request, target, upload: upload)
        // A connection opened under a narrower address policy is used once; a pooled one only under `.any`.
        let poolable = request.addressPolicy == .any
        var fresh = !poolable
        while true {
            let connection: PooledConnection
            if !fresh, let pooled = pool.take(key) {
                connection = pooled
            } else {
                fresh = true
                do {
                    connection = try await connect(request, target, key: key, on: loop, deadline: deadline, describe: describe, poolable: poolable)
                } catch {
                    upload?.close()
                    throw error is CancellationError ? error : OutboundError(channelError: error, describe: describe)
                }
            }
            do {
                return try await run(head, request, upload: upload, on: connection, deadline: deadline, describe: describe)
            } catch let stale as StaleConnection {
                guard upload == nil, !fresh else {
                    upload?.close()
                    throw stale.underlying
                }
                fresh = true
            }
        }
    }

    /// Starts the exchange on `connection`'s loop and waits for the response's head.
    private func run(
        _ head: HTTPRequestHead, _ request: OutboundRequest, upload: OutboundUpload?, on connection: PooledConnection, deadline: NIODeadline,
        describe: ExchangeLabel
    ) async throws -> ResponseHead {
        let cancellation = ExchangeCancellation()
        let body = request.body
        let maxBodyBytes = max(0, request.maxResponseBytes)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<ResponseHead, any Error>) in
                connection.channel.eventLoop.execute {
                    guard !cancellation.isCancelled else {
                        // Nothing was written: the connection goes back as it came (to the pool, or closed if it may
                        // serve only one request).
                        connection.handler.value.releaseUnused()
                        upload?.close()
                        return waiter.resume(throwing: CancellationError())
                    }
                    let serial = connection.handler.value.start(
                        head: head, body: body, upload: upload, maxBodyBytes: maxBodyBytes, describe: describe, deadline: deadline,
                        waiter: waiter)
                    if cancellation.started(serial) { connection.handler.value.cancel(serial: serial) }
                }
            }
        } onCancel: {
            if let serial = cancellation.cancel() {
                connection.channel.eventLoop.execute { connection.handler.value.cancel(serial: serial) }
            }
        }
    }

    /// Opens a connection on `loop`: TCP (to an address the request's policy admits), TLS for `https`, the HTTP/1.1
    /// codec and the exchange handler.
    private func connect(
        _ request: OutboundRequest, _ target: ParsedURL, key: EventLoopConnectionPool.Key, on loop: any EventLoop, deadline: NIODeadline,
        describe: ExchangeLabel, poolable: Bool
    ) async throws -> PooledConnection {
        let remaining = deadline - NIODeadline.now()
        let connectTimeout = min(TimeAmount.nanoseconds(request.connectTimeout.nanoseconds), remaining)
        guard connectTimeout > .zero else { throw OutboundError(code: .timeout, message: "\(describe): the timeout passed") }
        let tls = target.scheme == "https" ? self.tls : nil
        let serverHostname = AddressRange.bytes(of: target.host) == nil ? target.host : nil
        let pool = self.pool
        // Each channel the bootstrap opens gets its connection here, on its loop (happy eyeballs may open several).
        let opened = Mutex<[PooledConnection]>([])
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let handler = HTTP1ConnectionHandler()
                    try channel.pipeline.syncOperations.addHandler(handler)
                    let connection = PooledConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), key: key)
                    if poolable { handler.onReusable = { _ in pool.put(connection) } }
                    handler.onClosed = { pool.forget(connection) }
                    pool.register(connection)
                    opened.withLock { $0.append(connection) }
                }
            }
        let channel: any Channel
        switch request.addressPolicy {
        case .any:
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        case .publicOnly:
            let addresses = try await Self.resolve(target.host, port: target.port)
            guard let admitted = addresses.first(where: { request.addressPolicy.admits($0.bytes) }) else {
                let refused = addresses.first.map { AddressRange.text(of: $0.bytes) } ?? "no address"
                throw OutboundError(
                    code: .refusedAddress,
                    message: "\(describe): \(refused) is a private, link-local or reserved address, which this request may not reach")
            }
            channel = try await bootstrap.connect(to: admitted.address).get()
        }
        guard let connection = opened.withLock({ $0.first { $0.channel === channel } }) else {
            throw OutboundError(code: .transport, message: "\(describe): the connection was not set up")
        }
        return connection
    }

    /// The request line and headers: `Host` (unless given), the given headers in order (framing and hop-by-hop ones
    /// aside: the client frames the body itself), `Accept: */*` unless given, and `Content-Length`, or chunked
    /// framing for an upload of unknown length. `POST`, `PUT` and `PATCH` without a body send `Content-Length: 0`.
    static func requestHead(_ request: OutboundRequest, _ target: ParsedURL, upload: OutboundUpload?) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 3)
        // Names compared over their bytes, nothing lowercased: every proxied call builds a head.
        if !request.headers.contains(where: { OutboundHeader.name($0.name, matches: HeadNames.host) }) {
            headers.add(name: "Host", value: target.hostHeader)
        }
        var givesAccept = false
        for header in request.headers where !HeadNames.framing.contains(where: { OutboundHeader.name(header.name, matches: $0) }) {
            if !givesAccept { givesAccept = OutboundHeader.name(header.name, matches: HeadNames.accept) }
            headers.add(name: header.name, value: header.value)
        }
        if !givesAccept { headers.add(name: "Accept", value: "*/*") }
        let method = request.method.uppercased()
        if method != "HEAD" {
            if let upload {
                if let length = upload.length {
                    headers.add(name: "Content-Length", value: String(length))
                } else {
                    headers.add(name: "Transfer-Encoding", value: "chunked")
                }
            } else if let body = request.body {
                headers.add(name: "Content-Length", value: String(body.count))
            } else if ["POST", "PUT", "PATCH"].contains(method) {
                headers.add(name: "Content-Length", value: "0")
            }
        }
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: target.requestTarget, headers: headers)
    }

    /// The addresses `host` resolves to (getaddrinfo, on NIO's thread pool), in the resolver's order.
    static func resolve(_ host: String, port: Int) async throws -> [(address: SocketAddress, bytes: [UInt8])] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw OutboundError(code: .connectFailed, message: "\(host) does not resolve")
            }
            defer { freeaddrinfo(list) }
            var found: [(SocketAddress, [UInt8])] = []
            var next: UnsafeMutablePointer<addrinfo>? = first
            while let entry = next {
                next = entry.pointee.ai_next
                guard let raw = entry.pointee.ai_addr else { continue }
                switch Int32(raw.pointee.sa_family) {
                case AF_INET:
                    let address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    let bytes = withUnsafeBytes(of: address.sin_addr) { Array($0) }
                    found.append((SocketAddress(address, host: host), bytes))
                case AF_INET6:
                    let address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
                    found.append((SocketAddress(address, host: host), bytes))
                default:
                    continue
                }
            }
            return found
        }
    }
}

/// The header names ``EventLoopHTTPClient/requestHead(_:_:upload:)`` looks for, lowercase.
private enum HeadNames {
    static let host = Array("host".utf8)
    static let accept = Array("accept".utf8)
    /// Framing and hop-by-hop headers, which the client writes itself.
    static let framing = ["content-length", "transfer-encoding", "connection", "keep-alive"].map { Array($0.utf8) }
}

/// The race between a task's cancellation and the start of its exchange on the loop, settled under a lock.
private final class ExchangeCancellation: Sendable {
    private let state = Mutex<(cancelled: Bool, serial: Int?)>((false, nil))

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// The exchange started as `serial`; whether the task was cancelled meanwhile (then the caller cancels it).
    func started(_ serial: Int) -> Bool {
        state.withLock { state in
            state.serial = serial
            return state.cancelled
        }
    }

    /// Marks the task cancelled; the serial of the exchange to cancel, if it has started.
    func cancel() -> Int? {
        state.withLock { state in
            state.cancelled = true
            return state.serial
        }
    }
}
