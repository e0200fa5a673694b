import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyModel
import LatchkeyObservability
import Logging

/// One log line per request: method, path (never the query, which may carry codes or states), status and time,
/// with a request id that is also sent back as `Latchkey-Request-Id`.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = LatchkeyContext
    let logger: Logger
    let metrics: LatchkeyMetrics

    @concurrent func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        try await around(request, context: context) { try await next(request, context) }
    }

    /// The response of `respond`, with its request id, counted under the route the router set in `context` and logged.
    func around(_ request: Request, context: Context, _ respond: () async throws -> Response) async throws -> Response {
        let started = start()
        return finish(try await respond(), of: request, context: context, started: started)
    }

    /// A request's id and the time it started.
    struct Started {
        let id: String
        let at: ContinuousClock.Instant
    }

    /// Starts logging a request: draws its id and notes the time. The id is 72 random bits in 15 characters, the most
    /// a string keeps inline: a longer one was an allocation per request, and retains at each copy of the response's
    /// fields. An id tells requests apart in logs; it grants nothing.
    func start() -> Started {
        Started(id: RandomToken.base32(bytes: 9), at: .now)
    }

    /// `response` to the request `started` began, with its request id, counted under the route the router set in
    /// `context` and logged.
    /// `response` is consumed: its fields are then held by this call alone, so adding the id changes them in place
    /// rather than copying every field first.
    func finish(_ response: consuming Response, of request: Request, context: Context, started: Started) -> Response {
        var response = response
        // Appended rather than set: no route sets it, and the proxy never returns a provider's `Latchkey-` headers, so
        // there is none to replace (setting looked through every field first).
        response.headers.append(HTTPField(name: .latchkeyRequestID, value: started.id))
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code)
        let elapsed = ContinuousClock.now - started.at
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "request_id": "\(started.id)", "method": "\(request.method.rawValue)", "path": "\(Self.redactedPath(request.uri.path))",
                "status": "\(response.status.code)", "ms": "\(String(format: "%.1f", ms))",
            ])
        return response
    }

    /// Connect-link tokens in paths are bearer secrets: log only their first characters.
    static func redactedPath(_ path: String) -> String {
        guard path.hasPrefix("/connect/cs_") else { return path }
        let rest = path.dropFirst("/connect/".count)
        let token = rest.prefix { $0 != "/" }
        return "/connect/" + token.prefix(7) + "…" + rest.dropFirst(token.count)
    }
}
