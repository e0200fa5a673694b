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
}
