import Foundation

/// An OpenID Provider's configuration, as served at `/.well-known/openid-configuration`
/// (OpenID Connect Discovery 1.0 §3).
///
/// Decoding reads the fields and checks nothing; ``validated(data:expectedIssuer:)`` is the way
/// to accept a document fetched from a provider.
public struct OIDCDiscovery: Decodable, Sendable, Equatable {
    /// `issuer`: the provider's issuer identifier, which ID tokens must name exactly.
    public var issuer: String
    /// `authorization_endpoint`: where the person is sent to log in.
    public var authorizationEndpoint: URL
    /// `token_endpoint`: where the code is exchanged for tokens.
    public var tokenEndpoint: URL
    /// `jwks_uri`: the JWKS whose keys sign ID tokens.
    public var jwksURI: URL
    /// `userinfo_endpoint`, when the provider has one.
    public var userinfoEndpoint: URL?
    /// `end_session_endpoint` (RP-Initiated Logout), when the provider has one.
    public var endSessionEndpoint: URL?
    /// `code_challenge_methods_supported` (RFC 8414 §2), e.g. `["S256"]`, when listed.
    public var codeChallengeMethodsSupported: [String]?
    /// `id_token_signing_alg_values_supported`, e.g. `["RS256"]`, when listed.
    public var idTokenSigningAlgValuesSupported: [String]?

    private enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case userinfoEndpoint = "userinfo_endpoint"
        case endSessionEndpoint = "end_session_endpoint"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
    }

    /// Parses a discovery document and accepts it only if it belongs to `expectedIssuer`.
    ///
    /// - `issuer` must equal `expectedIssuer` exactly, with no normalisation (Discovery §4.3): a
    ///   document served for one issuer but naming another is refused, however close the two are.
    /// - `issuer`, `authorization_endpoint`, `token_endpoint` and `jwks_uri` must be present.
    /// - The issuer and every endpoint must be https, or http to a loopback host (`127.0.0.1`,
    ///   `localhost`, `[::1]`) for tests; none may carry user info, and the issuer no query or fragment.
    /// - Throws: `invalid_discovery`, naming the field at fault.
    public static func validated(data: Data, expectedIssuer: String) throws(OIDCError) -> OIDCDiscovery {
        let document: OIDCDiscovery
        do {
            document = try JSONDecoder().decode(OIDCDiscovery.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .invalidDiscovery("the discovery document has no \(key.stringValue)")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context)
        {
            guard let field = context.codingPath.first?.stringValue else {
                throw .invalidDiscovery("the discovery document is not a JSON object")
            }
            throw .invalidDiscovery("the discovery document's \(field) is not a valid value")
        } catch {
            throw .invalidDiscovery("the discovery document is not a JSON object")
        }
        guard document.issuer == expectedIssuer else {
            throw .invalidDiscovery(
                "the discovery document names issuer '\(document.issuer.prefix(200))', expected '\(expectedIssuer)'")
        }
        guard let issuerURL = URL(string: document.issuer), Self.isAllowed(issuerURL),
            issuerURL.query == nil, issuerURL.fragment == nil
        else {
            throw .invalidDiscovery("the issuer must be an https URL with no query or fragment")
        }
        let endpoints: [(CodingKeys, URL?)] = [
            (.authorizationEndpoint, document.authorizationEndpoint), (.tokenEndpoint, document.tokenEndpoint),
            (.jwksURI, document.jwksURI), (.userinfoEndpoint, document.userinfoEndpoint),
            (.endSessionEndpoint, document.endSessionEndpoint),
        ]
        for case let (key, url?) in endpoints where !Self.isAllowed(url) {
            throw .invalidDiscovery("\(key.rawValue) must be https (http only to a loopback host)")
        }
        return document
    }

    /// https with a host; or http to loopback, so tests can serve a provider on 127.0.0.1.
    static func isAllowed(_ url: URL) -> Bool {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
            let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil
        else { return false }
        switch components.scheme?.lowercased() {
        case "https": return true
        case "http": return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
        default: return false
        }
    }
}
