import Hummingbird

/// Answers every request: proxied calls in a lane of their own, everything else through the router.
///
/// A proxied call gets what the router's middlewares would give it (request id, count and log line, JSON errors, the
/// caller's key checked), called directly instead of through the middleware chain: each layer of the chain is an
/// async hop, and the proxy is the hot path. Anything the lane does not take (another method, no provider) goes to the
/// router as before, so both answer a path alike.
public struct LatchkeyResponder: HTTPResponder {
    public typealias Context = LatchkeyContext
    let router: RouterResponder<LatchkeyContext>
    let proxy: ProxyRoutes
    let log: RequestLogMiddleware
    let authentication: CallerAuthentication

    @concurrent public func respond(to request: Request, context: Context) async throws -> Response {
        guard let lane = ProxyRoutes.Lane(method: request.method, path: request.uri.path) else {
            return try await router.respond(to: request, context: context)
        }
        context.coreContext.endpointPath.value = lane.route
        // What `RequestLogMiddleware` and `ErrorMiddleware` do around a route, step by step.
        let started = log.start()
        let response: Response
        do {
            var context = context
            context.caller = try await authentication.caller(of: request, peer: context.peerAddress)
            response = try await proxy.handle(request, try CallerContext(context: context), provider: lane.provider)
        } catch {
            response = ErrorMiddleware.response(to: error, of: request, logger: context.logger)
        }
        return log.finish(consume response, of: request, context: context, started: started)
    }
}
