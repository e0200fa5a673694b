import LatchkeyModel

/// What Latchkey reads from a remote MCP server's protected resource metadata (RFC 9728): the resource it protects
/// and the authorization servers that issue tokens for it.
public struct ProtectedResourceMetadata: Sendable, Equatable {
    public var resource: String
    /// At least one; each https (http only to loopback).
    public var authorizationServers: [String]
    public var scopesSupported: [String]?

    /// Reads the document at `url`, which must name `expected` as its resource (RFC 9728 section 3.3).
    /// - Throws: `invalid_provider_response` naming the document and field.
    public init(body: [UInt8], url: String, expected: ResourceIdentifier) throws(LatchkeyError) {
        let document = try MetadataDocument(name: "protected resource metadata", url: url, body: body)
        let resource = try document.url("resource")
        guard let named = try? ResourceIdentifier(resource, field: "resource"), named == expected else {
            throw document.problem("resource", "'\(resource.prefix(100))' is not the server's own URL \(expected)")
        }
        guard let servers = try document.strings("authorization_servers"), !servers.isEmpty else {
            throw document.problem("authorization_servers", "must list at least one authorization server")
        }
        for server in servers where (try? ResourceIdentifier(server, field: "authorization_servers")) == nil {
            throw document.problem("authorization_servers", "'\(server.prefix(100))' must be https (http only to loopback)")
        }
        self.resource = resource
        self.authorizationServers = servers
        self.scopesSupported = try document.strings("scopes_supported")
    }
}
