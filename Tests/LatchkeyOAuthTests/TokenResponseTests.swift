import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import Testing

let now = Date(timeIntervalSince1970: 1_800_000_000)

func parse(_ json: String, paths: TokenResponsePaths = TokenResponsePaths(), lifetime: Int? = 3600) throws(LatchkeyError) -> TokenGrant {
    try TokenResponseParser.parse(Array(json.utf8), paths: paths, defaultLifetime: lifetime, now: now)
}

@Suite("Token responses")
struct TokenResponseTests {
    @Test func aStandardResponseIsReadWhole() throws {
        let g = try parse(#"{"access_token":"at","refresh_token":"rt","token_type":"Bearer","expires_in":3599,"scope":"a b"}"#)
        #expect(g.accessToken == "at" && g.refreshToken == "rt" && g.tokenType == "Bearer")
        #expect(g.expiresAt == now.addingTimeInterval(3599))
        #expect(g.scopes == ["a", "b"])
    }

    @Test(arguments: [
        (#""expires_in":"3600""#, 3600.0),
        (#""expires_in":7200.0"#, 7200.0),
        (#""expires_in":" 60 ""#, 60.0),
    ])
    func expiresInMayBeAStringOrANumber(field: String, seconds: Double) throws {
        let g = try parse(#"{"access_token":"at",\#(field)}"#)
        #expect(g.expiresAt == now.addingTimeInterval(seconds))
    }

    @Test func expiresInInMillisecondsWhenTheManifestSaysSo() throws {
        var paths = TokenResponsePaths()
        paths.expiresInUnit = .milliseconds
        #expect(try parse(#"{"access_token":"at","expires_in":3600000}"#, paths: paths).expiresAt == now.addingTimeInterval(3600))
    }

    @Test func aMissingExpiryComesFromAJWTExpClaim() throws {
        let payload = Base64URL.encode(Array(#"{"sub":"x","exp":1800000500}"#.utf8))
        let jwt = "eyJhbGciOiJub25lIn0.\(payload).sig"
        #expect(try parse(#"{"access_token":"\#(jwt)"}"#).expiresAt == Date(timeIntervalSince1970: 1_800_000_500))
    }

    @Test func aMissingExpiryFallsBackToTheManifestsDefaultLifetime() throws {
        #expect(try parse(#"{"access_token":"at"}"#, lifetime: 7200).expiresAt == now.addingTimeInterval(7200))
        #expect(try parse(#"{"access_token":"at","expires_in":0}"#, lifetime: 7200).expiresAt == now.addingTimeInterval(7200))
    }

    @Test func onlyAManifestThatSaysNeverGivesANonExpiringToken() throws {
        #expect(try parse(#"{"access_token":"at"}"#, lifetime: nil).expiresAt == nil)
    }

    @Test func nestedAndRenamedFieldsAreFollowed() throws {
        var paths = TokenResponsePaths()
        paths.accessToken = "authed_user.access_token"
        paths.scope = "authed_user.scope"
        paths.save = ["team_id": "team.id", "instance_url": "instance_url"]
        let g = try parse(
            #"{"ok":true,"authed_user":{"access_token":"xoxp","scope":"chat:write,users:read"},"team":{"id":"T1"},"instance_url":"https://x.my.salesforce.com"}"#,
            paths: paths)
        #expect(g.accessToken == "xoxp")
        #expect(g.scopes == ["chat:write", "users:read"])
        #expect(g.saved == ["team_id": "T1", "instance_url": "https://x.my.salesforce.com"])
    }

    @Test(arguments: [
        (#"{"error":"invalid_grant","error_description":"bad code"}"#, "invalid_grant"),
        (#"{"ok":false,"error":"invalid_code"}"#, "invalid_code"),
    ])
    func anOAuthErrorKeepsItsRFC6749Code(body: String, code: String) {
        do {
            _ = try parse(body)
            Issue.record("parsed an error response")
        } catch {
            #expect(error.code == .providerError)
            #expect(error.oauthError == code)
        }
    }

    @Test(arguments: ["<html>oops</html>", "[]", #"{"token_type":"bearer"}"#, #"{"access_token":""}"#])
    func anythingWithoutAnAccessTokenIsAnInvalidProviderResponse(body: String) {
        do {
            _ = try parse(body)
            Issue.record("parsed \(body)")
        } catch {
            #expect(error.code == .invalidProviderResponse)
        }
    }

    @Test func aGrantNeverPrintsItsTokens() throws {
        let g = try parse(#"{"access_token":"secret-at","refresh_token":"secret-rt"}"#)
        #expect(!"\(g)".contains("secret"))
    }
}

@Suite("Authorization requests")
struct AuthorizationRequestTests {
    let spec = OAuth2Spec(
        authorizationURL: URLTemplate("https://login.example.com/{tenant}/authorize"), tokenURL: URLTemplate("https://login.example.com/token"),
        scopes: ["a"], scopeSeparator: ",", authorizationParams: ["access_type": "offline"], defaultTokenLifetime: 3600,
        resource: "https://api.example.com")

    @Test func theURLCarriesClientRedirectScopesStatePKCEAndResource() throws {
        let pkce = PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        let url = try AuthorizationRequest.url(
            spec: spec, clientID: "id 1", redirectURI: "http://127.0.0.1:8080/oauth/callback", scopes: ["a", "b c"], state: "st",
            pkce: pkce, config: ["tenant": "common"])
        #expect(url.hasPrefix("https://login.example.com/common/authorize?response_type=code&client_id=id%201&"))
        #expect(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fcallback"))
        #expect(url.contains("&state=st&scope=a%2Cb%20c&"))
        // RFC 7636 appendix B's test vector.
        #expect(url.contains("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"))
        #expect(url.contains("resource=https%3A%2F%2Fapi.example.com"))
        #expect(url.hasSuffix("access_type=offline"))
    }

    @Test func withoutPKCENoChallengeIsSent() throws {
        let url = try AuthorizationRequest.url(
            spec: spec, clientID: "c", redirectURI: "https://x/cb", scopes: [], state: "s", pkce: nil, config: ["tenant": "t"])
        #expect(!url.contains("code_challenge"))
        #expect(!url.contains("scope="))
    }

    @Test func aMissingConnectionValueIsAnError() {
        #expect(throws: LatchkeyError.self) {
            try AuthorizationRequest.url(spec: spec, clientID: "c", redirectURI: "https://x/cb", scopes: [], state: "s", pkce: nil, config: [:])
        }
    }
}

/// A transport that records requests and answers from a table: a unit-test double for this module only.
final class RecordingTransport: HTTPTransport, @unchecked Sendable {
    var requests: [OutboundRequest] = []
    let answer: @Sendable (OutboundRequest) throws -> OutboundResponse
    init(_ answer: @escaping @Sendable (OutboundRequest) throws -> OutboundResponse) { self.answer = answer }
    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        requests.append(request)
        return try answer(request)
    }
}

func response(_ status: Int, _ body: String) -> OutboundResponse {
    OutboundResponse(status: status, headers: [], body: Array(body.utf8))
}

@Suite("Code exchange")
struct CodeExchangeTests {
    func spec(_ auth: ClientAuthMethod, format: BodyFormat = .form) -> OAuth2Spec {
        OAuth2Spec(
            authorizationURL: URLTemplate("https://p/authorize"), tokenURL: URLTemplate("https://p/token"), clientAuth: auth,
            tokenRequestFormat: format, defaultTokenLifetime: 3600)
    }

    @Test func clientSecretBasicPutsFormEncodedCredentialsInTheHeader() async throws {
        let transport = RecordingTransport { _ in response(200, #"{"access_token":"at"}"#) }
        _ = try await OAuthClient(transport: transport).exchangeCode(
            spec: spec(.clientSecretBasic), app: AppCredentials(clientID: "my id", clientSecret: "s:e/c"), code: "c0de",
            verifier: "v", redirectURI: "https://lk/oauth/callback", config: [:])
        let sent = try #require(transport.requests.first)
        let auth = try #require(sent.headers.first { $0.name == "Authorization" }?.value)
        let decoded = String(decoding: Base64URL.decode(String(auth.dropFirst("Basic ".count)))!, as: UTF8.self)
        #expect(decoded == "my%20id:s%3Ae%2Fc")
        let body = String(decoding: sent.body ?? [], as: UTF8.self)
        #expect(body == "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Flk%2Foauth%2Fcallback&code_verifier=v")
        #expect(!sent.followRedirects)
    }

    @Test func clientSecretPostPutsCredentialsInTheBodyAndJSONWhenAsked() async throws {
        let transport = RecordingTransport { _ in response(200, #"{"access_token":"at"}"#) }
        _ = try await OAuthClient(transport: transport).exchangeCode(
            spec: spec(.clientSecretPost, format: .json), app: AppCredentials(clientID: "id", clientSecret: "sec"), code: "c",
            verifier: nil, redirectURI: "https://lk/cb", config: [:])
        let sent = try #require(transport.requests.first)
        #expect(!sent.headers.contains { $0.name == "Authorization" })
        let json = try #require(JSONValue.parse(sent.body ?? []))
        #expect(json.value(atPath: "client_secret") == .string("sec"))
        #expect(json.value(atPath: "code_verifier") == nil)
    }

    @Test func aPublicClientSendsItsIDAloneAndPKCEIsItsProof() async throws {
        let transport = RecordingTransport { _ in response(200, #"{"access_token":"at"}"#) }
        _ = try await OAuthClient(transport: transport).exchangeCode(
            spec: spec(.none), app: AppCredentials(clientID: "https://lk/oauth/client-metadata.json", clientSecret: nil), code: "c",
            verifier: "v", redirectURI: "https://lk/cb", config: [:])
        let sent = try #require(transport.requests.first)
        #expect(!sent.headers.contains { $0.name == "Authorization" })
        let body = String(decoding: sent.body ?? [], as: UTF8.self)
        #expect(body.hasSuffix("&code_verifier=v&client_id=https%3A%2F%2Flk%2Foauth%2Fclient-metadata.json") && !body.contains("secret"))
    }

    /// Endpoints a server's own metadata named reach only public addresses; a manifest's reach what the admin chose.
    @Test func endpointsFromAServersMetadataReachOnlyTheAllowedAddresses() async throws {
        let transport = RecordingTransport { _ in response(200, #"{"access_token":"at"}"#) }
        var discovered = spec(.clientSecretBasic)
        discovered.endpointsDiscovered = true
        discovered.revocationURL = URLTemplate("https://p/revoke")
        let app = AppCredentials(clientID: "i", clientSecret: "s")
        _ = try await OAuthClient(transport: transport).refresh(spec: discovered, app: app, refreshToken: "rt", config: [:])
        try await OAuthClient(transport: transport).revoke(spec: discovered, app: app, token: "rt", hint: "refresh_token", values: [:])
        _ = try await OAuthClient(transport: transport).refresh(spec: spec(.clientSecretBasic), app: app, refreshToken: "rt", config: [:])
        #expect(transport.requests.map(\.addressPolicy) == [.publicOnly(allowing: []), .publicOnly(allowing: []), .any])
    }

    /// The MCP SDK's authorization server reads `client_id` from the body even under HTTP Basic.
    @Test func basicAuthenticationAlsoNamesTheClientInTheBodyWhenTheSpecSaysSo() async throws {
        let transport = RecordingTransport { _ in response(200, #"{"access_token":"at"}"#) }
        var remote = spec(.clientSecretBasic)
        remote.clientIDInBody = true
        _ = try await OAuthClient(transport: transport).refresh(
            spec: remote, app: AppCredentials(clientID: "dyn-1", clientSecret: "sec"), refreshToken: "rt", config: [:])
        let sent = try #require(transport.requests.first)
        #expect(sent.headers.contains { $0.name == "Authorization" && $0.value.hasPrefix("Basic ") })
        let body = String(decoding: sent.body ?? [], as: UTF8.self)
        #expect(body.contains("client_id=dyn-1") && !body.contains("sec"))
    }

    @Test(arguments: [
        (400, #"{"error":"invalid_grant"}"#, LatchkeyError.Code.providerError),
        (503, "down", .providerUnavailable),
        (500, #"{"error":"server_error"}"#, .providerError),
        (200, "<html>", .invalidProviderResponse),
        (404, "<html>", .providerError),
    ])
    func providerFailuresBecomeTypedErrors(status: Int, body: String, code: LatchkeyError.Code) async {
        let transport = RecordingTransport { _ in response(status, body) }
        do {
            _ = try await OAuthClient(transport: transport).exchangeCode(
                spec: spec(.clientSecretBasic), app: AppCredentials(clientID: "i", clientSecret: "s"), code: "c", verifier: nil,
                redirectURI: "https://lk/cb", config: [:])
            Issue.record("no error")
        } catch {
            #expect(error.code == code)
            #expect(error.message.hasPrefix("code exchange:"))
        }
    }

    @Test(arguments: [
        (OutboundError.Code.timeout, LatchkeyError.Code.providerTimeout),
        (.connectFailed, .providerUnavailable),
        (.responseTooLarge, .invalidProviderResponse),
    ])
    func transportFailuresBecomeTypedErrors(failure: OutboundError.Code, code: LatchkeyError.Code) async {
        let transport = RecordingTransport { _ in throw OutboundError(code: failure, message: "x", curlCode: nil) }
        do {
            _ = try await OAuthClient(transport: transport).exchangeCode(
                spec: spec(.clientSecretBasic), app: AppCredentials(clientID: "i", clientSecret: "s"), code: "c", verifier: nil,
                redirectURI: "https://lk/cb", config: [:])
            Issue.record("no error")
        } catch {
            #expect(error.code == code)
        }
    }
}
