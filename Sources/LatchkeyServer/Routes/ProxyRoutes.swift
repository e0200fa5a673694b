import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyProxy

/// `ANY /v1/proxy/{provider}/{path...}`: the caller's request, sent to the provider with the credential injected.
///
/// `Latchkey-Connection` picks a connection, `Latchkey-User` a user's connection, and `Latchkey-Retry: off`
/// turns retries off (a 401 still gets one refresh and one retry). The provider's status, body and safe headers
/// come back, never `Set-Cookie`.
struct ProxyRoutes {
    let services: LatchkeyServices
    let broker: TokenBroker

    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    func register(on group: RouterGroup<LatchkeyContext>) {
        for method in Self.methods {
            group.on("/proxy/:provider/**", method: method) { request, context in try await handle(request, context) }
            group.on("/proxy/:provider", method: method) { request, context in try await handle(request, context) }
        }
    }

    func handle(_ request: Request, _ context: LatchkeyContext) async throws -> Response {
        let caller = try context.requireCaller()
        let providerID = context.parameters.get("provider") ?? ""
        let manifest = try services.catalog.manifest(providerID)
        // The raw, still-encoded path after /v1/proxy/{provider}/.
        let prefix = "/v1/proxy/\(providerID)"
        let rawPath = request.uri.path
        guard rawPath.hasPrefix(prefix) else { throw LatchkeyError(.invalidRequest, "path: malformed proxy path", field: "path") }
        var path = String(rawPath.dropFirst(prefix.count))
        if path.hasPrefix("/") { path.removeFirst() }

        var headers: [OutboundHeader] = []
        for field in request.headers { headers.append(OutboundHeader(name: field.name.rawName, value: field.value)) }
        let forwarded = try HeaderPolicy.forwardable(headers)
        let body: [UInt8]?
        do {
            let buffer = try await request.body.collect(upTo: ProxyService.maxBodyBytes)
            body = buffer.readableBytes == 0 && [.get, .head, .delete, .options].contains(request.method) ? nil : Array(buffer.readableBytesView)
        } catch {
            throw LatchkeyError(.payloadTooLarge, "the request body exceeds \(ProxyService.maxBodyBytes) bytes", field: "body")
        }
        let stored = try await ConnectionResolver(services: services).resolve(
            caller: caller, provider: manifest.id, connectionID: request.headers[.latchkeyConnection],
            user: request.headers[.latchkeyUser])
        let retries = request.headers[.latchkeyRetry]?.lowercased() == "off" ? RetryPolicy.none : RetryPolicy()
        let response = try await ProxyService(services: services, broker: broker).send(
            ProxyService.Call(method: request.method.rawValue, path: path, query: request.uri.query, headers: forwarded, body: body, retries: retries),
            manifest: manifest, stored: stored, caller: caller)
        var fields = HTTPFields()
        for h in HeaderPolicy.returnable(response.headers) {
            if let name = HTTPField.Name(h.name) { fields.append(HTTPField(name: name, value: h.value)) }
        }
        fields[.latchkeyConnection] = stored.connection.id.rawValue
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}

extension HTTPField.Name {
    static let latchkeyConnection = HTTPField.Name("Latchkey-Connection")!
    static let latchkeyUser = HTTPField.Name("Latchkey-User")!
    static let latchkeyRetry = HTTPField.Name("Latchkey-Retry")!
}
