/// Latchkey's own OAuth client metadata, as a client ID metadata document: served at
/// `{public_url}/oauth/client-metadata.json`, whose URL is itself the client id that an authorization server which
/// supports such documents (`client_id_metadata_document_supported`) accepts without registration. Latchkey is a
/// public client there: PKCE, no secret.
public struct ClientMetadataDocument: Sendable, Equatable, Encodable {
    public var clientID: String
    public var clientName = "Latchkey"
    public var clientURI: String
    public var redirectURIs: [String]
    public var grantTypes = ["authorization_code", "refresh_token"]
    public var responseTypes = ["code"]
    public var tokenEndpointAuthMethod = "none"

    /// The path it is served at, under the public URL.
    public static let path = "/oauth/client-metadata.json"

    /// The document of the deployment at `publicURL`, whose connect flows come back to `callbackURL`.
    public init(publicURL: String, callbackURL: String) {
        clientID = publicURL + Self.path
        clientURI = publicURL
        redirectURIs = [callbackURL]
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case clientName = "client_name"
        case clientURI = "client_uri"
        case redirectURIs = "redirect_uris"
        case grantTypes = "grant_types"
        case responseTypes = "response_types"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
    }
}
