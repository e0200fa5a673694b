import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded

/// Calls a Hummingbird responder directly, as the server does once it has read a request: a context from a channel
/// whose peer is loopback, the response's body written out (and kept, or dropped).
struct InProcessClient<Responder: HTTPResponder>: Sendable
where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    let responder: Responder
    let channel: NIOAsyncTestingChannel
    let logger: Logger

    init(_ responder: Responder, logger: Logger) throws {
        self.responder = responder
        self.logger = logger
        channel = NIOAsyncTestingChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 40_000)
    }

    /// Answers `method path` and returns the status and body.
    func call(_ method: HTTPRequest.Method, _ path: String, key: String, json: String? = nil) async throws -> (Int, String) {
        var fields: HTTPFields = [.authorization: "Bearer \(key)"]
        if json != nil { fields[.contentType] = "application/json" }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path, headerFields: fields),
            body: RequestBody(buffer: ByteBuffer(string: json ?? "")))
        let response = try await responder.respond(to: request, context: Responder.Context(source: .init(channel: channel, logger: logger)))
        let kept = KeptBody()
        try await response.body.write(BodyCollector(kept: kept))
        return (Int(response.status.code), String(buffer: kept.buffer))
    }

    /// Answers `GET path` and drops the body, as a client reading it would; throws unless the status is 200.
    func get(_ path: String, key: String) async throws {
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1", path: path, headerFields: [.authorization: "Bearer \(key)"]),
            body: RequestBody(buffer: ByteBuffer()))
        let response = try await responder.respond(to: request, context: Responder.Context(source: .init(channel: channel, logger: logger)))
        try await response.body.write(BodyCollector(kept: nil))
        guard response.status == .ok else { throw BenchmarkFailure("GET \(path): \(response.status.code)") }
    }
}

/// A response body, written by the responder and read after it finished (one task at a time).
final class KeptBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

/// Writes a response body into `kept`, or nowhere.
struct BodyCollector: ResponseBodyWriter {
    let kept: KeptBody?

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        kept?.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Why the benchmark could not go on.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
