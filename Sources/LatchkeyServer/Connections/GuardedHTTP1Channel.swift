import HTTPTypes
import Hummingbird
import HummingbirdCore
import LatchkeyModel
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 channel with Latchkey's guards per connection: ``RequestGuard`` (header, idle and body
/// timeouts, a JSON 400 for what the codec cannot parse, and a graceful shutdown), and a cap on open connections
/// (past it, `503 server_busy` with `Retry-After` and the connection closed, never queued).
struct GuardedHTTP1Channel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
        /// False for a connection past the cap, which is refused.
        let admitted: Bool
        var channel: any Channel { http.channel }
    }

    let responder: HTTPChannelHandler.Responder
    let limits: HTTPServerLimits
    let gate: ConnectionGate

    /// The server builder for `Application(server:)`.
    static func builder(limits: HTTPServerLimits) -> HTTPServerBuilder {
        let gate = ConnectionGate(limit: limits.maxConnections)
        return HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits, gate: gate) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = gate.admit()
        if admitted { channel.closeFuture.whenComplete { [gate] _ in gate.release() } }
        let limits = self.limits
        return channel.eventLoop.makeCompletedFuture {
            // Hummingbird's `HTTP1Channel` pipeline with its limits on headers, but ``RequestGuard`` in place of the
            // three handlers it adds after NIO's codec (it does their work).
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldCount = 1000
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
            try channel.pipeline.syncOperations.addHandler(RequestGuard(limits: limits))
            let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            return Value(http: http, admitted: admitted)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard value.admitted else { return await refuse(value.http) }
        await HTTP1Channel(responder: responder).handle(value: value.http, logger: logger)
    }

    /// Answers `503 server_busy` at once and closes.
    private func refuse(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        let error = LatchkeyError(
            .serverBusy, "Latchkey holds as many connections as it may (http_max_connections); try again shortly")
        let body = String(decoding: JSONValue.object([
            "error": .object(["code": .string(error.code.rawValue), "message": .string(error.message)]),
        ]).serialized(), as: UTF8.self)
        try? await http.executeThenClose { _, outbound in
            try await outbound.write(.head(HTTPResponse(
                status: .serviceUnavailable,
                headerFields: [.contentType: "application/json", .contentLength: "\(body.utf8.count)", .connection: "close", .retryAfter: "1"])))
            try await outbound.write(.body(ByteBuffer(string: body)))
            try await outbound.write(.end(nil))
        }
    }
}
