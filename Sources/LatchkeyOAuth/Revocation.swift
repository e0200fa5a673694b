import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

extension OAuthClient {
    /// Revokes a token at the provider's RFC 7009 endpoint, authenticating the client as the manifest says.
    ///
    /// RFC 7009 section 2.2: the endpoint answers 200 for an unknown or already-revoked token, so any 2xx is
    /// success. Throws a typed error for anything else; the caller decides whether to go on destroying the
    /// stored credential (it always does: a provider that cannot be reached must not keep a credential alive here).
    public func revoke(
        spec: OAuth2Spec, app: AppCredentials, token: String, hint: String, values: [String: String]
    ) async throws(LatchkeyError) {
        guard let template = spec.revocationURL else { return }
        guard let url = template.render(values), URLRules.isAllowed(url) else {
            throw LatchkeyError(.invalidRequest, "revocation: the revocation URL cannot be built for this connection")
        }
        var params: [(String, String)] = [("token", token), ("token_type_hint", hint)]
        var headers = [OutboundHeader(name: "Accept", value: "application/json")]
        Self.authenticateClient(spec, app: app, params: &params, headers: &headers)
        headers.append(OutboundHeader(name: "Content-Type", value: "application/x-www-form-urlencoded"))
        let response = try await send(
            OutboundRequest(
                method: "POST", url: url, headers: headers, body: Array(FormEncoding.encode(params).utf8),
                addressPolicy: spec.endpointsDiscovered ? discoveredEndpointAddresses : .any),
            step: "revocation")
        guard (200..<300).contains(response.status) else {
            throw LatchkeyError(
                response.status >= 500 ? .providerUnavailable : .providerError,
                "revocation: the provider answered HTTP \(response.status)")
        }
    }
}
