import CCurl

/// An ``HTTPTransport`` on libcurl's multi interface.
///
/// One thread per client runs all transfers; `send` only suspends its task. Connections are
/// kept alive and reused through the multi handle's connection cache, at most
/// `maxConnectionsPerHost` at once per host (further transfers queue inside curl, and their
/// wait counts against `totalTimeout`).
///
/// Every transfer: TLS peer and host verification on; `http` and `https` only; no redirects
/// followed by curl itself; `CURLOPT_NOSIGNAL`; connect and total timeouts; the response size
/// cap; no `Expect: 100-continue`. Proxies from the environment (`https_proxy`, `no_proxy`)
/// apply, except to loopback hosts.
public final class CurlHTTPClient: HTTPTransport, Sendable {
    /// The most redirect hops followed when ``OutboundRequest/followRedirects`` is set.
    public static let maxRedirects = RedirectFollowing.maxRedirects

    private let loop: CurlMultiLoop

    /// The system's certificate authorities and the added ones, as one PEM text; nil for curl's default bundle.
    private let caBundle: [UInt8]?

    /// Starts the client's thread.
    public init(maxConnectionsPerHost: Int = 32) {
        loop = CurlMultiLoop(maxConnectionsPerHost: maxConnectionsPerHost)
        caBundle = nil
    }

    /// Starts the client's thread, trusting `trust`'s added certificate authorities besides the system's.
    ///
    /// - Throws: ``OutboundError`` `.tlsFailed` naming an added file that cannot be read or holds no certificate.
    public init(maxConnectionsPerHost: Int = 32, trust: OutboundTrust) throws {
        caBundle = try trust.combinedPEM()
        loop = CurlMultiLoop(maxConnectionsPerHost: maxConnectionsPerHost)
    }

    deinit {
        loop.shutdown()
    }

    /// Stops the client's thread. Transfers in flight and later calls to `send` fail with
    /// ``OutboundError/Code/cancelled``. Returns without waiting for the thread to exit.
    public func shutdown() {
        loop.shutdown()
    }

    /// Sends `request` and returns the final response, following same-origin redirects when the request asks
    /// (``RedirectFollowing``). The URL policy is checked before any I/O.
    ///
    /// - Throws: ``OutboundError``, or `CancellationError` when the task is cancelled (the
    ///   transfer is then removed from curl at once).
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        try await RedirectFollowing.send(request, target: try OutboundURLPolicy.checked(request)) { request, target in
            let completion = try await perform(request, target)
            return (completion.response, completion.redirectURL)
        }
    }

    /// Sends `request` and returns once the response head has arrived; the body follows as a stream,
    /// paused while nobody reads it. With `upload`, the request body is streamed from it. Redirects are
    /// never followed here.
    ///
    /// - Throws: ``OutboundError`` (before the head), or `CancellationError` when the task is cancelled
    ///   before the head arrives. Failures after the head surface from the body stream.
    public func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse {
        let target = try OutboundURLPolicy.checked(request)
        let completion = try await perform(request, target, streaming: true, upload: upload)
        guard let channel = completion.channel else {
            throw OutboundError(code: .transport, message: "\(request.method) \(target.origin): no body channel")
        }
        return OutboundStreamingResponse(
            status: completion.response.status, headers: completion.response.headers, body: OutboundBodyStream(channel: channel))
    }

    private func perform(
        _ request: OutboundRequest, _ target: ParsedURL, streaming: Bool = false, upload: OutboundUpload? = nil
    ) async throws -> CurlCompletion {
        let transfer = try CurlTransfer(request: request, target: target, streaming: streaming, upload: upload, caBundle: caBundle)
        let loop = self.loop
        transfer.channel?.connect(
            onDrain: { [weak transfer] in if let transfer { loop.unpause(transfer) } },
            onAbandon: { [weak transfer] in if let transfer { loop.cancel(transfer) } })
        upload?.connect(onData: { [weak transfer] in if let transfer { loop.unpause(transfer) } })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard transfer.attach(continuation) else {
                    continuation.resume(throwing: CancellationError())
                    transfer.finish(.failure(CancellationError()))  // ends the body channel and the upload
                    return
                }
                if !loop.submit(transfer) {
                    transfer.finish(
                        .failure(OutboundError(code: .cancelled, message: "the HTTP client is shut down"))
                    )
                }
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }
}
