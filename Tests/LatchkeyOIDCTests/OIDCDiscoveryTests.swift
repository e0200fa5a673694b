import Foundation
import LatchkeyModel
import LatchkeyOIDC
import Testing

@Suite("Discovery documents")
struct OIDCDiscoveryTests {
    static let complete: [String: JSONValue] = [
        "issuer": .string("https://login.example.com"),
        "authorization_endpoint": .string("https://login.example.com/authorize"),
        "token_endpoint": .string("https://login.example.com/oauth/token"),
        "jwks_uri": .string("https://login.example.com/.well-known/jwks.json"),
        "userinfo_endpoint": .string("https://login.example.com/userinfo"),
        "end_session_endpoint": .string("https://login.example.com/logout"),
        "code_challenge_methods_supported": .array([.string("S256"), .string("plain")]),
        "id_token_signing_alg_values_supported": .array([.string("RS256"), .string("ES256")]),
        "response_types_supported": .array([.string("code")]),
    ]

    func document(_ changes: [String: JSONValue?] = [:]) throws -> Data {
        var fields = Self.complete
        for (name, value) in changes { fields[name] = value }
        return try JSONEncoder().encode(JSONValue.object(fields))
    }

    func refusal(_ data: Data, expectedIssuer: String = "https://login.example.com") -> OIDCError? {
        #expect(throws: OIDCError.self) { try OIDCDiscovery.validated(data: data, expectedIssuer: expectedIssuer) }
    }

    @Test func aCompleteDocumentIsReadWhole() throws {
        let d = try OIDCDiscovery.validated(data: document(), expectedIssuer: "https://login.example.com")
        #expect(d.issuer == "https://login.example.com")
        #expect(d.authorizationEndpoint.absoluteString == "https://login.example.com/authorize")
        #expect(d.tokenEndpoint.absoluteString == "https://login.example.com/oauth/token")
        #expect(d.jwksURI.absoluteString == "https://login.example.com/.well-known/jwks.json")
        #expect(d.userinfoEndpoint?.absoluteString == "https://login.example.com/userinfo")
        #expect(d.endSessionEndpoint?.absoluteString == "https://login.example.com/logout")
        #expect(d.codeChallengeMethodsSupported == ["S256", "plain"])
        #expect(d.idTokenSigningAlgValuesSupported == ["RS256", "ES256"])
    }

    @Test func theOptionalFieldsMayBeAbsent() throws {
        let d = try OIDCDiscovery.validated(
            data: document([
                "userinfo_endpoint": nil, "end_session_endpoint": nil, "code_challenge_methods_supported": nil,
                "id_token_signing_alg_values_supported": nil,
            ]),
            expectedIssuer: "https://login.example.com")
        #expect(d.userinfoEndpoint == nil && d.endSessionEndpoint == nil)
        #expect(d.codeChallengeMethodsSupported == nil && d.idTokenSigningAlgValuesSupported == nil)
    }

    @Test(arguments: [
        "https://evil.example.com", "https://login.example.com/", "https://LOGIN.example.com",
        "https://login.example.com/tenant", "http://login.example.com",
    ])
    func aDocumentNamingAnotherIssuerIsRefused(issuer: String) throws {
        let error = refusal(try document(["issuer": .string(issuer)]))
        #expect(error?.code == "invalid_discovery")
        #expect(error?.message.contains("issuer") == true)
    }

    @Test(arguments: ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"])
    func aDocumentMissingARequiredFieldIsRefused(field: String) throws {
        let error = refusal(try document([field: nil]))
        #expect(error?.code == "invalid_discovery")
        #expect(error?.message.contains(field) == true)
    }

    @Test(arguments: [
        ("token_endpoint", "http://login.example.com/oauth/token"),
        ("authorization_endpoint", "http://login.example.com/authorize"),
        ("jwks_uri", "http://10.0.0.8/jwks"),
        ("jwks_uri", "http://127.0.0.1.evil.example.com/jwks"),
        ("jwks_uri", "http://localhost.evil.example.com/jwks"),
        ("userinfo_endpoint", "http://login.example.com/userinfo"),
        ("end_session_endpoint", "ftp://login.example.com/logout"),
        ("token_endpoint", "https://user:pw@login.example.com/token"),
        ("token_endpoint", "/oauth/token"),
    ])
    func anEndpointThatIsNotHTTPSOnANonLoopbackHostIsRefused(field: String, url: String) throws {
        let error = refusal(try document([field: .string(url)]))
        #expect(error?.code == "invalid_discovery")
        #expect(error?.message.contains(field) == true)
    }

    @Test(arguments: ["http://127.0.0.1:8443", "http://localhost:9000", "http://[::1]:9000"])
    func httpIsAllowedOnLoopbackHostsForTests(base: String) throws {
        let data = try document([
            "issuer": .string(base), "authorization_endpoint": .string("\(base)/authorize"),
            "token_endpoint": .string("\(base)/token"), "jwks_uri": .string("\(base)/jwks"),
            "userinfo_endpoint": .string("\(base)/userinfo"), "end_session_endpoint": .string("\(base)/logout"),
        ])
        let d = try OIDCDiscovery.validated(data: data, expectedIssuer: base)
        #expect(d.tokenEndpoint.absoluteString == "\(base)/token")
    }

    @Test func anIssuerWithAQueryIsRefusedEvenWhenExpected() throws {
        let issuer = "https://login.example.com?tenant=a"
        #expect(refusal(try document(["issuer": .string(issuer)]), expectedIssuer: issuer)?.code == "invalid_discovery")
    }

    @Test(arguments: ["", "not json", "[]", #"{"issuer":42}"#])
    func somethingThatIsNotADiscoveryDocumentIsRefused(text: String) {
        #expect(refusal(Data(text.utf8))?.code == "invalid_discovery")
    }
}
