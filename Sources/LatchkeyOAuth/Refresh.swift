import Foundation
import LatchkeyManifest
import LatchkeyModel

extension OAuthClient {
    /// Trades a refresh token for a new grant (RFC 6749 section 6). A provider that sends no new refresh token
    /// leaves it nil: the caller keeps the old one. `invalid_grant` and `unauthorized_client` come back as
    /// `provider_error` with that `oauthError`, which callers treat as final.
    public func refresh(
        spec: OAuth2Spec, app: AppCredentials, refreshToken: String, config: [String: String]
    ) async throws(LatchkeyError) -> TokenGrant {
        var params: [(String, String)] = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        if let resource = spec.resource { params.append(("resource", resource)) }
        return try await tokenRequest(spec: spec, app: app, params: params, config: config, step: "refresh")
    }
}
