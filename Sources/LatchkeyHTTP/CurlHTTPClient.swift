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
    public static let maxRedirects = 5

    private let loop: CurlMultiLoop

    /// Starts the client's thread.
    public init(maxConnectionsPerHost: Int = 32) {
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

    /// Sends `request` and returns the final response.
    ///
    /// The URL policy is checked before any I/O. With `followRedirects`, a 301, 302, 303, 307
    /// or 308 whose `Location` has the same scheme, host and port is followed, up to
    /// ``maxRedirects`` hops (more throws `.transport`); 303, and 301/302 after a `POST`, continue
    /// as a `GET` without body, as browsers and curl do (RFC 9110 §15.4). A redirect to another
    /// origin is returned as the response.
    ///
    /// - Throws: ``OutboundError``, or `CancellationError` when the task is cancelled (the
    ///   transfer is then removed from curl at once).
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        var target = try OutboundURLPolicy.checked(request.url)
        var current = request
        // totalTimeout bounds the whole exchange, redirect hops included.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: request.totalTimeout)
        var hops = 0
        while true {
            let completion = try await perform(current, target)
            let status = completion.response.status
            guard current.followRedirects, [301, 302, 303, 307, 308].contains(status),
                let location = completion.redirectURL,
                let next = try? OutboundURLPolicy.checked(location), next.isSameOrigin(as: target)
            else { return completion.response }
            hops += 1
            guard hops <= Self.maxRedirects else {
                throw OutboundError(
                    code: .transport,
                    message: "\(request.method) \(target.origin): more than \(Self.maxRedirects) redirects"
                )
            }
            current.totalTimeout = clock.now.duration(to: deadline)
            guard current.totalTimeout > .zero else {
                throw OutboundError(
                    code: .timeout,
                    message: "\(request.method) \(target.origin): the timeout passed while following redirects"
                )
            }
            let method = current.method.uppercased()
            if (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST") {
                current.method = "GET"
                current.body = nil
                current.headers.removeAll {
                    ["content-type", "content-length", "content-encoding"].contains($0.name.lowercased())
                }
            }
            current.url = location
            target = next
        }
    }

    /// Sends `request` and returns once the response head has arrived; the body follows as a stream,
    /// paused while nobody reads it. With `upload`, the request body is streamed from it. Redirects are
    /// never followed here.
    ///
    /// - Throws: ``OutboundError`` (before the head), or `CancellationError` when the task is cancelled
    ///   before the head arrives. Failures after the head surface from the body stream.
    public func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse {
        let target = try OutboundURLPolicy.checked(request.url)
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
        let transfer = try CurlTransfer(request: request, target: target, streaming: streaming, upload: upload)
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
