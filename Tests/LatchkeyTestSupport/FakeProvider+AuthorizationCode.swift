import Foundation
import LatchkeyHTTP
import LatchkeyOAuth

/// The provider's side of the authorization-code flow: the codes it issues when a person signs in, the exchange (with
/// RFC 7636's S256 check), the identity endpoint, and RFC 7009 revocation.
extension FakeProvider {
    /// An account at the provider.
    public struct Account: Sendable, Equatable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// A code the provider issued for `account`, bound to the PKCE challenge and redirect URI it was asked with.
    struct IssuedCode: Sendable {
        var account: Account
        var challenge: String?
        var redirectURI: String
    }

    /// What a code exchange sent to the token endpoint.
    public struct CodeExchange: Sendable, Equatable {
        public var code: String
        public var verifier: String?
        public var redirectURI: String?
    }

    /// The person signs in as `account` at the authorization URL Latchkey sent them to: the provider issues a one-time
    /// code bound to the URL's `code_challenge` and `redirect_uri`, as the browser would carry it to the callback.
    public func authorize(_ authorizationURL: String, as account: Account) -> String {
        let query = URLComponents(string: authorizationURL)?.queryItems ?? []
        let code = "code-" + UUID().uuidString
        state.withLock { state in
            state.codes[code] = IssuedCode(
                account: account, challenge: query.first { $0.name == "code_challenge" }?.value,
                redirectURI: query.first { $0.name == "redirect_uri" }?.value ?? "")
        }
        return code
    }

    /// Every code exchange the token endpoint received, in order.
    public var codeExchanges: [CodeExchange] { state.withLock { $0.exchanges } }

    /// The tokens revoked at the revocation endpoint, in order.
    public var revokedTokens: [String] { state.withLock { $0.revoked } }

    /// Redeems a code once: `invalid_grant` for an unknown or spent code, a verifier that does not match the
    /// challenge, or another redirect URI. Issues tokens that name the code's account.
    func redeem(_ form: [String: String]) -> OutboundResponse {
        let code = form["code"] ?? ""
        let issued: IssuedCode? = state.withLock { state in
            state.exchanges.append(CodeExchange(code: code, verifier: form["code_verifier"], redirectURI: form["redirect_uri"]))
            return state.codes.removeValue(forKey: code)
        }
        guard let issued, issued.redirectURI == form["redirect_uri"] else { return Self.json(400, #"{"error":"invalid_grant"}"#) }
        if let challenge = issued.challenge {
            guard let verifier = form["code_verifier"], PKCE.challenge(for: verifier) == challenge else {
                return Self.json(400, #"{"error":"invalid_grant"}"#)
            }
        }
        let access = "at-\(issued.account.id)-\(UUID().uuidString.prefix(8))"
        state.withLock { $0.accounts[access] = issued.account }
        return Self.json(200, #"{"access_token":"\#(access)","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-\#(access)"}"#)
    }

    /// The identity endpoint: the account behind the bearer token, or 401.
    func answerIdentity(_ request: OutboundRequest) -> OutboundResponse {
        let bearer = request.headers.first { $0.name.lowercased() == "authorization" }?.value.replacingOccurrences(of: "Bearer ", with: "")
        guard let account = state.withLock({ state in bearer.flatMap { state.accounts[$0] } }) else {
            return Self.json(401, #"{"error":"invalid_token"}"#)
        }
        return Self.json(200, #"{"sub":"\#(account.id)","name":"\#(account.name)"}"#)
    }

    /// The revocation endpoint: records the token and answers 200, as RFC 7009 asks even for unknown tokens.
    func recordRevocation(_ request: OutboundRequest) -> OutboundResponse {
        let token = Self.form(request.body ?? [])["token"] ?? ""
        state.withLock { $0.revoked.append(token) }
        return Self.json(200, "{}")
    }
}
