import LatchkeyModel

/// What Latchkey reads from an authorization server's metadata (RFC 8414, or OpenID Connect Discovery).
public struct AuthorizationServerMetadata: Sendable, Equatable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var registrationEndpoint: String?
    public var revocationEndpoint: String?
    public var scopesSupported: [String]?
    public var tokenEndpointAuthMethods: [String]?
    /// Whether the server takes a client ID metadata document URL as a client id.
    public var clientIDMetadataDocuments: Bool

    /// Reads the document at `url`, whose `issuer` must be exactly `expectedIssuer` (RFC 8414 section 3.3), whose
    /// endpoints must be https (http only to loopback), and which must support PKCE with S256 (the MCP authorization
    /// specification refuses a server that does not say so).
    /// - Throws: `invalid_provider_response` naming the document and field.
    public init(body: [UInt8], url: String, expectedIssuer: String) throws(LatchkeyError) {
        let document = try MetadataDocument(name: "authorization server metadata", url: url, body: body)
        let issuer = try document.string("issuer")
        guard issuer == expectedIssuer else {
            throw document.problem("issuer", "'\(issuer.prefix(100))' is not the authorization server it was fetched for, \(expectedIssuer.prefix(100))")
        }
        self.issuer = issuer
        authorizationEndpoint = try document.url("authorization_endpoint")
        tokenEndpoint = try document.url("token_endpoint")
        registrationEndpoint = try document.optionalURL("registration_endpoint")
        revocationEndpoint = try document.optionalURL("revocation_endpoint")
        scopesSupported = try document.strings("scopes_supported")
        tokenEndpointAuthMethods = try document.strings("token_endpoint_auth_methods_supported")
        clientIDMetadataDocuments = try document.bool("client_id_metadata_document_supported") ?? false
        guard try document.strings("code_challenge_methods_supported")?.contains("S256") == true else {
            throw document.problem("code_challenge_methods_supported", "must include S256: PKCE is required")
        }
    }
}
