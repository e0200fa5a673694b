/// Sends one outbound request and returns its final response.
///
/// Contract for implementations:
/// - enforce ``OutboundURLPolicy`` before any I/O, also on every redirect hop;
/// - never block the calling thread;
/// - throw ``OutboundError`` for every failure, or `CancellationError` when the calling task
///   is cancelled;
/// - a non-2xx status is a response, not an error.
public protocol HTTPTransport: Sendable {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse

    /// Sends `request` and returns as soon as the response head has arrived; the body follows as a stream.
    ///
    /// With `upload`, the request body is streamed from it instead of `request.body`. Redirects are never
    /// followed. The response body is capped at `maxResponseBytes` (the stream then throws
    /// `.responseTooLarge`).
    func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse
}

extension HTTPTransport {
    /// A buffered fallback for transports that cannot stream (test doubles): the whole exchange, then a
    /// complete body stream. Such transports cannot take an upload.
    public func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse {
        var request = request
        request.followRedirects = false
        guard upload == nil else { throw OutboundError(code: .transport, message: "this transport cannot stream a request body") }
        let response = try await send(request)
        return OutboundStreamingResponse(status: response.status, headers: response.headers, body: .complete(response.body))
    }
}
