import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyConnections
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import Logging

/// `ANY /v1/proxy/{provider}/{path...}`: the caller's request, sent to the provider with the credential injected.
///
/// `Latchkey-Connection` picks a connection, `Latchkey-User` a user's connection, and `Latchkey-Retry: off`
/// turns retries off (a 401 still gets one refresh and one retry). The provider's status, body and safe headers
/// come back, never `Set-Cookie`.
struct ProxyRoutes {
    let catalog: ProviderCatalog
    let logger: Logger
    let resolver: ConnectionResolver
    let proxy: ProxyService

    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    /// The routes, as the router matches them. ``LatchkeyResponder`` answers the calls they match before the router
    /// sees them (``Lane``); these answer what it hands on.
    func register(on group: RouterGroup<CallerContext>) {
        for method in Self.methods {
            for pattern in Self.patterns {
                group.on(RouterPath(pattern), method: method) { request, context in
                    try await handle(request, context, provider: context.parameters.get("provider") ?? "")
                }
            }
        }
    }

    /// The routes' patterns under `/v1`.
    static let patterns = ["/proxy/:provider/**", "/proxy/:provider"]

    /// A proxied call as the router would route it: the provider, and the route's pattern (for metrics).
    struct Lane: Equatable {
        var provider: String
        var route: String

        init(provider: String, route: String) {
            self.provider = provider
            self.route = route
        }

        /// The lane of `method path`; nil for anything but one of ``methods`` on `/v1/proxy/{provider}` or below,
        /// with a provider, which goes to the router.
        init?(method: HTTPRequest.Method, path: String) {
            let prefix = "/v1/proxy/"
            guard path.hasPrefix(prefix), ProxyRoutes.methods.contains(method) else { return nil }
            let rest = path.utf8.dropFirst(prefix.utf8.count)
            let segment = rest.prefix { $0 != UInt8(ascii: "/") }
            guard !segment.isEmpty else { return nil }
            provider = String(Substring(segment))
            route = segment.count == rest.count ? "/v1/proxy/{provider}" : "/v1/proxy/{provider}/**"
        }
    }

    func handle(_ request: Request, _ context: CallerContext, provider providerID: String) async throws -> Response {
        let caller = context.caller
        let manifest = try catalog.manifest(providerID)
        // The raw, still-encoded path after /v1/proxy/{provider}/.
        let prefix = "/v1/proxy/\(providerID)"
        let rawPath = request.uri.path
        guard rawPath.hasPrefix(prefix) else { throw LatchkeyError(.invalidRequest, "path: malformed proxy path", field: "path") }
        var path = String(rawPath.dropFirst(prefix.count))
        if path.hasPrefix("/") { path.removeFirst() }

        // One pass over the caller's headers: each as the provider may get it, and Latchkey's own three (a header
        // sent twice reads as its values joined by ", ", as `HTTPFields`' subscript gives it).
        var forwarded: [OutboundHeader] = []
        forwarded.reserveCapacity(request.headers.count)
        var connectionID: String?
        var user: String?
        var retry: String?
        func add(_ value: String, to read: inout String?) { read = read.map { $0 + ", " + value } ?? value }
        for field in request.headers {
            switch field.name {
            case .latchkeyConnection: add(field.value, to: &connectionID)
            case .latchkeyUser: add(field.value, to: &user)
            case .latchkeyRetry: add(field.value, to: &retry)
            default: break
            }
            forwarded.append(OutboundHeader(name: field.name.rawName, value: field.value))
        }
        try HeaderPolicy.keepForwardable(&forwarded)
        let stored = try await resolver.resolve(caller: caller, provider: manifest.id, connectionID: connectionID, user: user)
        let retries = retry?.lowercased() == "off" ? RetryPolicy.none : RetryPolicy()
        let body = try await ProxyRequestBody.start(request)
        let response: OutboundStreamingResponse
        do {
            response = try await proxy.stream(
                ProxyService.Call(
                    method: request.method.rawValue, path: path, query: request.uri.query, headers: forwarded, body: body.body,
                    retries: retries),
                manifest: manifest, stored: stored, caller: caller)
        } catch {
            body.abandon()
            throw await body.explain(error)
        }
        var fields = HTTPFields()
        HeaderPolicy.forEachReturnable(in: response.headers) { h in
            if let name = HTTPField.Name(h.name) { fields.append(HTTPField(name: name, value: h.value)) }
        }
        // Appended: the provider's `Latchkey-` headers were left out above.
        fields.append(HTTPField(name: .latchkeyConnection, value: stored.connection.id.rawValue))
        let status = HTTPResponse.Status(code: response.status)
        if request.method == .head || status == .noContent || status == .notModified {
            response.body.cancel()
            if let length = response.header("Content-Length") { fields[.contentLength] = length }
            return Response(status: status, headers: consume fields, body: ResponseBody())
        }
        // A body that arrived whole with its head (most small answers) goes out with it in one write; Content-Length
        // is then its length. Anything still arriving streams.
        if body.copier == nil, let whole = response.body.arrivedWhole(upTo: OutboundBodyStream.highWaterBytes) {
            // The fields are handed over, not copied: `Response` adds Content-Length to them in place.
            return Response(status: status, headers: consume fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: whole)))
        }
        // The provider's Content-Length describes the bytes as they come (curl decodes nothing), so it still holds.
        let length = response.header("Content-Length").flatMap { Int($0) }
        let logger = logger
        let provider = manifest.id
        return Response(
            status: status, headers: consume fields,
            body: ResponseBody(contentLength: length) { writer in
                do {
                    for try await chunk in response.body {
                        try await writer.write(ByteBuffer(bytes: chunk))
                    }
                } catch {
                    // The head is gone already: all that is left is to cut the connection short.
                    response.body.cancel()
                    logger.warning("proxy response body cut short", metadata: ["provider": "\(provider)", "reason": "\(error)"])
                    throw error
                }
                _ = await body.copier?.value
                try await writer.finish(nil)
            })
    }
}

extension HTTPField.Name {
    static let latchkeyConnection = HTTPField.Name("Latchkey-Connection")!
    static let latchkeyUser = HTTPField.Name("Latchkey-User")!
    static let latchkeyRetry = HTTPField.Name("Latchkey-Retry")!
}
