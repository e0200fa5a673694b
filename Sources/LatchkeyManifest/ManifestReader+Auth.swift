import Foundation
import LatchkeyModel
import Yams

/// The `auth:` section: the auth mode, OAuth 2.0 endpoints and client authentication, token responses, identity lookups.
extension ManifestReader {
    // MARK: auth

    func readAuth(configNames: Set<String>) -> AuthSpec? {
        guard let auth = root.child("auth") else {
            root.report("auth: required field is missing")
            return nil
        }
        guard auth.entries() != nil else { return nil }
        guard let mode = auth.requiredString("mode") else { return nil }
        switch mode {
        case "oauth2":
            return readOAuth2(auth, configNames: configNames).map(AuthSpec.oauth2)
        case "api_key":
            auth.rejectUnknownKeys(["mode", "api_key", "identity"])
            let spec = auth.child("api_key")
            spec?.rejectUnknownKeys(["label", "help_url"])
            let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: configNames, allowTokenResponse: false) }
            if let help = spec?.optionalString("help_url"), !help.hasPrefix("https://") {
                spec?.child("help_url")?.report("must be an https URL")
            }
            return .apiKey(APIKeySpec(
                label: spec?.optionalString("label") ?? "API key", helpURL: spec?.optionalString("help_url"), identity: identity))
        case "basic":
            auth.rejectUnknownKeys(["mode", "basic", "identity"])
            let spec = auth.child("basic")
            spec?.rejectUnknownKeys(["username_label", "password_label"])
            let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: configNames, allowTokenResponse: false) }
            return .basic(BasicSpec(
                usernameLabel: spec?.optionalString("username_label") ?? "Username",
                passwordLabel: spec?.optionalString("password_label") ?? "Password", identity: identity))
        case "none":
            auth.rejectUnknownKeys(["mode"])
            return AuthSpec.none
        default:
            auth.child("mode")?.report("'\(mode)' is not one of oauth2, api_key, basic, none")
            return nil
        }
    }

    static let oauth2Keys: Set<String> = [
        "mode", "authorization_url", "token_url", "revocation_url", "scopes", "scope_separator", "pkce", "client_auth",
        "token_request_format", "authorization_params", "token_params", "token_response", "default_token_lifetime",
        "issuer", "resource", "identity",
    ]

    func readOAuth2(_ auth: YAMLCursor, configNames: Set<String>) -> OAuth2Spec? {
        auth.rejectUnknownKeys(Self.oauth2Keys)
        let paths = readTokenResponse(auth.child("token_response"))
        // The authorization and token URLs are used before any token exists: only config values fit there.
        let authorizationURL = readURL(auth, "authorization_url", allowed: configNames, required: true)
        let tokenURL = readURL(auth, "token_url", allowed: configNames, required: true)
        let urlNames = configNames.union(paths.save.keys)
        let revocationURL = readURL(auth, "revocation_url", allowed: urlNames, required: false)
        let scopes = auth.child("scopes")?.stringList() ?? []
        let separator = auth.child("scope_separator").flatMap { $0.anyString() } ?? " "
        if separator.isEmpty { auth.child("scope_separator")?.report("must not be empty") }
        let pkce = auth.optionalBool("pkce") ?? true
        let clientAuth = readEnum(auth, "client_auth", ClientAuthMethod.self) ?? .clientSecretBasic
        // A public client proves nothing at the token endpoint but its PKCE verifier.
        if clientAuth == .none, !pkce { auth.child("client_auth")?.report("none (a public client) needs pkce: true") }
        let format = readEnum(auth, "token_request_format", BodyFormat.self) ?? .form
        let authorizationParams = auth.child("authorization_params")?.stringMap() ?? [:]
        let tokenParams = auth.child("token_params")?.stringMap() ?? [:]
        for reserved in ["client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "response_type"]
        where authorizationParams[reserved] != nil {
            auth.child("authorization_params")?.child(reserved)?.report("is set by Latchkey and may not be overridden")
        }

        var lifetime: Int?
        if let c = auth.child("default_token_lifetime") {
            if c.node.string == "never" {
                lifetime = nil
            } else if let seconds = c.node.int, seconds > 0 {
                lifetime = seconds
            } else {
                c.report("expected a positive number of seconds, or never")
            }
        } else {
            auth.sink.report(
                line: auth.line, field: "auth.default_token_lifetime",
                "required for oauth2: seconds, or never when the provider documents non-expiring tokens")
        }
        var issuer: String?
        if let c = auth.child("issuer"), let s = c.string() {
            if isAllowedURL(s) { issuer = s } else { c.report("must be an https URL (http only to loopback)") }
        }
        let resource = auth.optionalString("resource")
        let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: urlNames, allowTokenResponse: true) }

        guard let authorizationURL, let tokenURL else { return nil }
        return OAuth2Spec(
            authorizationURL: authorizationURL, tokenURL: tokenURL, revocationURL: revocationURL, scopes: scopes,
            scopeSeparator: separator.isEmpty ? " " : separator, pkce: pkce, clientAuth: clientAuth,
            tokenRequestFormat: format, authorizationParams: authorizationParams, tokenParams: tokenParams,
            tokenResponse: paths, defaultTokenLifetime: lifetime, issuer: issuer, resource: resource, identity: identity)
    }

    func readTokenResponse(_ cursor: YAMLCursor?) -> TokenResponsePaths {
        var paths = TokenResponsePaths()
        guard let cursor else { return paths }
        cursor.rejectUnknownKeys(["access_token", "refresh_token", "expires_in", "expires_in_unit", "scope", "token_type", "save"])
        if let v = cursor.optionalString("access_token") { paths.accessToken = v }
        if let v = cursor.optionalString("refresh_token") { paths.refreshToken = v }
        if let v = cursor.optionalString("expires_in") { paths.expiresIn = v }
        if let v = readEnum(cursor, "expires_in_unit", TokenResponsePaths.ExpiryUnit.self) { paths.expiresInUnit = v }
        if let v = cursor.optionalString("scope") { paths.scope = v }
        if let v = cursor.optionalString("token_type") { paths.tokenType = v }
        if let save = cursor.child("save"), let map = save.stringMap() {
            for key in map.keys where !Placeholders.isName(Substring(key)) {
                save.child(key)?.report("'\(key)' is not a valid value name ([A-Za-z_][A-Za-z0-9_]*)")
            }
            paths.save = map
        }
        return paths
    }

    func readIdentity(_ c: YAMLCursor, urlNames: Set<String>, allowTokenResponse: Bool) -> IdentitySpec? {
        c.rejectUnknownKeys(["url", "method", "headers", "body", "id", "name", "from"])
        let idPath = c.requiredString("id")
        let namePath = c.optionalString("name")
        if let from = c.optionalString("from") {
            guard from == "token_response", allowTokenResponse else {
                c.child("from")?.report(allowTokenResponse ? "only token_response is supported" : "only oauth2 identities may read the token response")
                return nil
            }
            if c.child("url") != nil { c.child("url")?.report("give either url or from, not both") }
            guard let idPath else { return nil }
            return IdentitySpec(source: .tokenResponse, idPath: idPath, namePath: namePath)
        }
        let url = readURL(c, "url", allowed: urlNames, required: true)
        let method = c.optionalString("method") ?? "GET"
        if !["GET", "POST"].contains(method) { c.child("method")?.report("must be GET or POST") }
        let headers = c.child("headers")?.stringMap() ?? [:]
        let body = c.child("body")?.anyString()
        guard let url, let idPath else { return nil }
        return IdentitySpec(source: .request(url: url, method: method, headers: headers, body: body), idPath: idPath, namePath: namePath)
    }
}
