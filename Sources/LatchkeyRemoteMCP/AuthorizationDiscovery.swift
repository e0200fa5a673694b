import Foundation
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime

/// What discovery found for a remote MCP server: the resource to name, its protected resource metadata, and the
/// metadata of the authorization server Latchkey will use (the first one it lists).
public struct DiscoveredAuthorization: Sendable, Equatable {
    public var resource: ResourceIdentifier
    public var protectedResource: ProtectedResourceMetadata
    public var authorizationServer: AuthorizationServerMetadata
}

/// Finds how a remote MCP server is authorized, as the MCP authorization specification says:
///
/// 1. An unauthenticated request; a 401's `WWW-Authenticate: Bearer resource_metadata=...` names the protected
///    resource metadata. Without one, the well-known URL with the server's path, then at the root (RFC 9728).
/// 2. The protected resource metadata, whose `resource` must be the server's own URL.
/// 3. The first authorization server's metadata: RFC 8414 with path insertion, OpenID Connect Discovery with path
///    insertion, then with the path appended (or, for an issuer without a path, the two root URLs). Its `issuer`
///    must match exactly, and it must support PKCE with S256.
///
/// Every fetch is a GET through the injected transport under the outbound URL rules: redirects are refused, the
/// answer is capped at `maxDocumentBytes`, and timeouts apply. Documents are kept as their cache headers allow.
/// Every failure is a `LatchkeyError` that names the document and the field; nothing is stored by discovery itself.
public struct AuthorizationDiscovery: Sendable {
    let transport: any HTTPTransport
    let cache: MetadataCache
    let clock: any LatchkeyClock
    /// The largest metadata document read.
    public var maxDocumentBytes = 256 * 1024
    public var connectTimeout: Duration = .seconds(5)
    public var totalTimeout: Duration = .seconds(15)
    /// The addresses a server's URLs may resolve to: public ones (and loopback), unless an admin allowed a network.
    public var addressPolicy = OutboundAddressPolicy.publicOnly(allowing: [])

    public init(transport: any HTTPTransport, cache: MetadataCache, clock: any LatchkeyClock) {
        self.transport = transport
        self.cache = cache
        self.clock = clock
    }

    /// The protocol version Latchkey speaks in its first, unauthenticated request.
    static let protocolVersion = "2025-11-25"

    /// Discovers the authorization of the MCP server at `serverURL`.
    public func discover(serverURL: String) async throws(LatchkeyError) -> DiscoveredAuthorization {
        let resource = try ResourceIdentifier(serverURL, field: "url")
        let prmCandidates: [String]
        if let named = try await challenge(serverURL)?.resourceMetadata {
            guard (try? ResourceIdentifier(named, field: "resource_metadata")) != nil else {
                throw LatchkeyError(
                    .invalidProviderResponse,
                    "WWW-Authenticate of \(resource): resource_metadata: '\(named.prefix(100))' must be https (http only to loopback)",
                    field: "resource_metadata")
            }
            prmCandidates = [named]
        } else {
            let root = resource.origin + "/.well-known/oauth-protected-resource"
            let withPath = resource.wellKnown("oauth-protected-resource")
            prmCandidates = withPath == root ? [root] : [withPath, root]
        }
        guard let (prmURL, prmBody) = try await firstDocument(prmCandidates, name: "protected resource metadata") else {
            throw LatchkeyError(
                .invalidProviderResponse,
                "protected resource metadata of \(resource): resource_metadata: none was found (no WWW-Authenticate resource_metadata, and \(prmCandidates.joined(separator: " and ")) answered 404)",
                field: "resource_metadata")
        }
        let prm = try ProtectedResourceMetadata(body: prmBody, url: prmURL, expected: resource)
        let issuer = prm.authorizationServers[0]
        let issuerID = try ResourceIdentifier(issuer, field: "authorization_servers")
        let asCandidates =
            issuerID.path.isEmpty
            ? [issuerID.origin + "/.well-known/oauth-authorization-server", issuerID.origin + "/.well-known/openid-configuration"]
            : [
                issuerID.wellKnown("oauth-authorization-server"), issuerID.wellKnown("openid-configuration"),
                issuerID.appendingWellKnown("openid-configuration"),
            ]
        guard let (asURL, asBody) = try await firstDocument(asCandidates, name: "authorization server metadata") else {
            throw LatchkeyError(
                .invalidProviderResponse,
                "authorization server metadata of \(issuer.prefix(100)): issuer: none was found at \(asCandidates.joined(separator: ", "))",
                field: "issuer")
        }
        let metadata = try AuthorizationServerMetadata(body: asBody, url: asURL, expectedIssuer: issuer)
        return DiscoveredAuthorization(resource: resource, protectedResource: prm, authorizationServer: metadata)
    }

    /// The Bearer challenge of the server's answer to an unauthenticated `initialize`, when it answered 401.
    func challenge(_ serverURL: String) async throws(LatchkeyError) -> BearerChallenge? {
        let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"\#(Self.protocolVersion)","capabilities":{},"clientInfo":{"name":"latchkey","version":"1"}}}"#
        let request = OutboundRequest(
            method: "POST", url: serverURL,
            headers: [
                OutboundHeader(name: "Accept", value: "application/json, text/event-stream"),
                OutboundHeader(name: "Content-Type", value: "application/json"),
                OutboundHeader(name: "MCP-Protocol-Version", value: Self.protocolVersion),
            ],
            body: Array(initialize.utf8), connectTimeout: connectTimeout, totalTimeout: totalTimeout, maxResponseBytes: maxDocumentBytes,
            followRedirects: false, addressPolicy: addressPolicy)
        let response: OutboundResponse
        do {
            response = try await transport.send(request)
        } catch let error as OutboundError {
            // An answer larger than the cap still said what it had to say in its head; anything else is a failure.
            guard error.code == .responseTooLarge else { throw LatchkeyError(outbound: error, step: "the MCP server", limit: maxDocumentBytes) }
            return nil
        } catch {
            throw LatchkeyError(.providerUnavailable, "the MCP server could not be reached")
        }
        guard response.status == 401 else { return nil }
        return BearerChallenge.parse(response.headers.filter { $0.name.lowercased() == "www-authenticate" }.map(\.value))
    }

    /// The first of `candidates` that answers 2xx, with its body; nil when every one answers 404 (or 410).
    func firstDocument(_ candidates: [String], name: String) async throws(LatchkeyError) -> (String, [UInt8])? {
        for url in candidates {
            if let body = try await fetch(url, name: name) { return (url, body) }
        }
        return nil
    }

    /// GETs a metadata document: its body on 2xx, nil on 404 or 410; a redirect, another status, an oversized
    /// answer or a transport failure is an error naming the document.
    func fetch(_ url: String, name: String) async throws(LatchkeyError) -> [UInt8]? {
        let now = clock.now
        if let kept = cache.body(url, now: now) { return kept }
        let request = OutboundRequest(
            url: url, headers: [OutboundHeader(name: "Accept", value: "application/json")], connectTimeout: connectTimeout,
            totalTimeout: totalTimeout, maxResponseBytes: maxDocumentBytes, followRedirects: false, addressPolicy: addressPolicy)
        let response: OutboundResponse
        do {
            response = try await transport.send(request)
        } catch let error as OutboundError {
            throw LatchkeyError(outbound: error, step: "\(name) at \(url.prefix(200))", limit: maxDocumentBytes)
        } catch {
            throw LatchkeyError(.providerUnavailable, "\(name) at \(url.prefix(200)): could not be fetched")
        }
        switch response.status {
        case 200..<300:
            cache.keep(response.body, for: url, cacheControl: response.header("Cache-Control"), now: now)
            return response.body
        case 404, 410:
            return nil
        case 300..<400:
            throw LatchkeyError(.invalidProviderResponse, "\(name) at \(url.prefix(200)): answered a redirect (HTTP \(response.status)); redirects are not followed for metadata")
        case 500...:
            throw LatchkeyError(.providerUnavailable, "\(name) at \(url.prefix(200)): the server answered HTTP \(response.status)")
        default:
            throw LatchkeyError(.invalidProviderResponse, "\(name) at \(url.prefix(200)): the server answered HTTP \(response.status)")
        }
    }
}
