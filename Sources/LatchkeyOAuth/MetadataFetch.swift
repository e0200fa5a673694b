import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

extension OAuthClient {
    /// Fetches a JSON metadata document (OpenID Connect discovery, a JWKS) with GET, under the same URL rules, caps and
    /// timeouts as every other OAuth call. Only a 2xx answer's body is returned.
    public func fetchJSON(url: String, step: String) async throws(LatchkeyError) -> [UInt8] {
        guard URLRules.isAllowed(url) else {
            throw LatchkeyError(.invalidRequest, "\(step): '\(url.prefix(100))' is not an https URL")
        }
        let response = try await send(
            OutboundRequest(url: url, headers: [OutboundHeader(name: "Accept", value: "application/json")]), step: step)
        guard (200..<300).contains(response.status) else {
            throw LatchkeyError(response.status >= 500 ? .providerUnavailable : .providerError, "\(step): the server answered HTTP \(response.status)")
        }
        return response.body
    }
}
