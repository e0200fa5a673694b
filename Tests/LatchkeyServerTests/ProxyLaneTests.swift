import HTTPTypes
import Hummingbird
import Logging
import NIOEmbedded
import Testing

@testable import LatchkeyServer

/// The proxy's lane (``LatchkeyResponder``) takes a call only where the router's proxy routes would take it, and with
/// the provider and route the router would find; everything else goes to the router.
@Suite struct ProxyLaneTests {
    /// What Hummingbird's router, with the proxy's patterns under `/v1`, matches for `method path`: the provider and the
    /// route, or nil when no proxy route matches.
    static func routerMatch(_ method: HTTPRequest.Method, _ path: String) async throws -> ProxyRoutes.Lane? {
        let router = Router()
        let group = router.group("/v1")
        for pattern in ProxyRoutes.patterns {
            group.on(RouterPath(pattern), method: method) { _, context -> Response in
                var response = Response(status: .ok)
                response.headers[HTTPField.Name("Provider")!] = context.parameters.get("provider") ?? ""
                response.headers[HTTPField.Name("Route")!] = context.endpointPath ?? ""
                return response
            }
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path), body: RequestBody(buffer: ByteBuffer()))
        let context = BasicRequestContext(source: .init(channel: NIOAsyncTestingChannel(), logger: Logger(label: "lane")))
        let response: Response
        do { response = try await router.buildResponder().respond(to: request, context: context) } catch { return nil }
        guard response.status == .ok, let provider = response.headers[HTTPField.Name("Provider")!],
            let route = response.headers[HTTPField.Name("Route")!]
        else { return nil }
        return ProxyRoutes.Lane(provider: provider, route: route)
    }

    static let takenPaths = [
        "/v1/proxy/github", "/v1/proxy/github/user", "/v1/proxy/github/repos/a/b/issues", "/v1/proxy/google-drive/files/x%2Fy",
        "/v1/proxy/github/user/", "/v1/proxy/bench/a//b",
    ]

    @Test(arguments: takenPaths)
    func aProxiedCallTakesTheLaneWithTheProviderAndRouteTheRouterFinds(path: String) async throws {
        for method in ProxyRoutes.methods {
            let lane = try #require(ProxyRoutes.Lane(method: method, path: path))
            #expect(try await Self.routerMatch(method, path) == lane, "\(method) \(path)")
        }
    }

    @Test(arguments: ["/v1/proxy", "/v1/proxy/", "/v1/proxy//items", "/v1/proxyx/github/user", "/v1/agents", "/proxy/github", "/v2/proxy/github"])
    func aPathWithoutAProviderUnderTheProxyGoesToTheRouter(path: String) {
        for method in ProxyRoutes.methods { #expect(ProxyRoutes.Lane(method: method, path: path) == nil, "\(method) \(path)") }
    }

    @Test func aMethodTheProxyDoesNotServeGoesToTheRouter() {
        for method in [HTTPRequest.Method.trace, .connect, HTTPRequest.Method("PROPFIND")!] {
            #expect(ProxyRoutes.Lane(method: method, path: "/v1/proxy/github/user") == nil)
        }
    }

    @Test func theRouteIsThePatternTheCallMatched() {
        #expect(ProxyRoutes.Lane(method: .get, path: "/v1/proxy/github")?.route == "/v1/proxy/{provider}")
        #expect(ProxyRoutes.Lane(method: .post, path: "/v1/proxy/github/user")?.route == "/v1/proxy/{provider}/**")
    }
}
