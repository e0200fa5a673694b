import LatchkeyManifest
import LatchkeyModel

/// Builds the URL that sends a person to the provider's consent screen (RFC 6749 section 4.1.1).
public enum AuthorizationRequest {
    /// The authorization URL with `response_type=code`, the client, exact redirect URI, scopes, `state`,
    /// the PKCE S256 challenge when the manifest uses PKCE, and `resource` (RFC 8707) when named.
    public static func url(
        spec: OAuth2Spec, clientID: String, redirectURI: String, scopes: [String], state: String, pkce: PKCE?,
        config: [String: String]
    ) throws(LatchkeyError) -> String {
        guard let base = spec.authorizationURL.render(config) else {
            throw LatchkeyError(.invalidRequest, "authorization_url needs connection values that were not given", field: "config")
        }
        var params: [(String, String)] = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI), ("state", state),
        ]
        if !scopes.isEmpty { params.append(("scope", scopes.joined(separator: spec.scopeSeparator))) }
        if let pkce {
            params.append(("code_challenge", pkce.challenge))
            params.append(("code_challenge_method", pkce.method))
        }
        if let resource = spec.resource { params.append(("resource", resource)) }
        for key in spec.authorizationParams.keys.sorted() { params.append((key, spec.authorizationParams[key]!)) }
        return base + (base.contains("?") ? "&" : "?") + FormEncoding.encode(params)
    }
}
