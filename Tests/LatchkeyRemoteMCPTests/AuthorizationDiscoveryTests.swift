import Foundation
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRemoteMCP
import LatchkeyRuntime
import Testing

/// How Latchkey finds a remote MCP server's authorization server, against scripted answers: the order of the
/// documents it tries, what it checks in each, and the clear error (naming the document and the field) it gives for
/// each way a server can get it wrong.
@Suite struct AuthorizationDiscoveryTests {
    static let server = "https://mcp.example.com/mcp"
    static let prmURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    static let issuer = "https://auth.example.com/tenant1"
    static let asURL = "https://auth.example.com/.well-known/oauth-authorization-server/tenant1"

    static func prm(resource: String = server, servers: String = "[\"\(issuer)\"]") -> String {
        #"{"resource":"\#(resource)","authorization_servers":\#(servers),"scopes_supported":["tools:read"]}"#
    }

    static func asMetadata(issuer: String = issuer, authorize: String = "https://auth.example.com/tenant1/authorize", pkce: String = #"["S256"]"#)
        -> String
    {
        """
        {"issuer":"\(issuer)","authorization_endpoint":"\(authorize)","token_endpoint":"https://auth.example.com/tenant1/token",
         "registration_endpoint":"https://auth.example.com/tenant1/register","code_challenge_methods_supported":\(pkce),
         "client_id_metadata_document_supported":true}
        """
    }

    static let challenge = ScriptedTransport.Answer.status(
        401, headers: [OutboundHeader(name: "WWW-Authenticate", value: #"Bearer error="invalid_token", resource_metadata="\#(prmURL)""#)])

    func discovery(_ transport: ScriptedTransport, clock: ManualClock = ManualClock(), cache: MetadataCache = MetadataCache()) -> AuthorizationDiscovery {
        AuthorizationDiscovery(transport: transport, cache: cache, clock: clock)
    }

    /// Runs discovery, which must fail with `code`, naming `field` in the error and `words` in its message.
    func expectFailure(
        _ script: [String: ScriptedTransport.Answer], code: LatchkeyError.Code = .invalidProviderResponse, field: String?, _ words: String...
    ) async {
        let error = await #expect(throws: LatchkeyError.self) { _ = try await discovery(ScriptedTransport(script)).discover(serverURL: Self.server) }
        #expect(error?.code == code, "\(error?.message ?? "")")
        if let field { #expect(error?.field == field, "\(error?.message ?? "")") }
        for word in words { #expect(error?.message.contains(word) == true, "\(error?.message ?? "") lacks \(word)") }
    }

    @Test func theChallengeNamesTheResourceMetadataAndTheIssuerPathIsInsertedFirst() async throws {
        let transport = ScriptedTransport([
            Self.server: Self.challenge, Self.prmURL: .json(Self.prm()), Self.asURL: .json(Self.asMetadata()),
        ])
        let found = try await discovery(transport).discover(serverURL: Self.server)
        #expect(found.resource.description == Self.server)
        #expect(found.protectedResource.authorizationServers == [Self.issuer] && found.protectedResource.scopesSupported == ["tools:read"])
        #expect(found.authorizationServer.issuer == Self.issuer)
        #expect(found.authorizationServer.tokenEndpoint == "https://auth.example.com/tenant1/token")
        #expect(found.authorizationServer.registrationEndpoint == "https://auth.example.com/tenant1/register")
        #expect(found.authorizationServer.clientIDMetadataDocuments)
        #expect(transport.seen == ["POST \(Self.server)", "GET \(Self.prmURL)", "GET \(Self.asURL)"])
    }

    @Test func withoutAChallengeTheWellKnownURLsAreTriedWithThePathThenAtTheRootAndOpenIDAfterOAuth() async throws {
        let root = "https://mcp.example.com/.well-known/oauth-protected-resource"
        let appended = "https://auth.example.com/tenant1/.well-known/openid-configuration"
        let transport = ScriptedTransport([
            Self.server: .status(401, headers: [OutboundHeader(name: "WWW-Authenticate", value: "Bearer realm=\"mcp\"")]),
            root: .json(Self.prm()), appended: .json(Self.asMetadata()),
        ])
        let found = try await discovery(transport).discover(serverURL: Self.server)
        #expect(found.authorizationServer.issuer == Self.issuer)
        #expect(transport.seen == [
            "POST \(Self.server)", "GET \(Self.prmURL)", "GET \(root)", "GET \(Self.asURL)",
            "GET https://auth.example.com/.well-known/openid-configuration/tenant1", "GET \(appended)",
        ])
    }

    @Test func anIssuerWithoutAPathIsLookedUpAtTheRootOAuthThenOpenID() async throws {
        let transport = ScriptedTransport([
            Self.server: Self.challenge,
            Self.prmURL: .json(Self.prm(servers: #"["https://auth.example.com"]"#)),
            "https://auth.example.com/.well-known/openid-configuration": .json(Self.asMetadata(issuer: "https://auth.example.com")),
        ])
        let found = try await discovery(transport).discover(serverURL: Self.server)
        #expect(found.authorizationServer.issuer == "https://auth.example.com")
        #expect(transport.seen.suffix(2) == [
            "GET https://auth.example.com/.well-known/oauth-authorization-server", "GET https://auth.example.com/.well-known/openid-configuration",
        ])
    }

    @Test func aMissingResourceMetadataIsAClearError() async {
        await expectFailure([Self.server: .status(401)], field: "resource_metadata", "protected resource metadata", "404")
    }

    @Test func aResourceThatIsNotTheServersOwnIsRefused() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm(resource: "https://evil.example.com/mcp"))],
            field: "resource", "protected resource metadata", "evil.example.com")
    }

    @Test func anIssuerThatIsNotTheOneAskedForIsRefused() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm()), Self.asURL: .json(Self.asMetadata(issuer: "https://auth.example.com/tenant2"))],
            field: "issuer", "authorization server metadata", "tenant2")
    }

    @Test func aPlainHTTPEndpointOffLoopbackIsRefused() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm()), Self.asURL: .json(Self.asMetadata(authorize: "http://auth.example.com/authorize"))],
            field: "authorization_endpoint", "must be https")
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm(servers: #"["http://auth.example.com"]"#))],
            field: "authorization_servers", "https")
    }

    @Test func aServerWithoutS256IsRefused() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm()), Self.asURL: .json(Self.asMetadata(pkce: #"["plain"]"#))],
            field: "code_challenge_methods_supported", "S256")
    }

    @Test func aRedirectOnAMetadataFetchIsNotFollowed() async {
        let moved = ScriptedTransport.Answer.status(302, headers: [OutboundHeader(name: "Location", value: "https://elsewhere.example.com/prm")])
        await expectFailure([Self.server: Self.challenge, Self.prmURL: moved], field: nil, "redirect", "protected resource metadata")
    }

    @Test func anOversizedOrMalformedDocumentIsAClearError() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .failure(.responseTooLarge)], field: nil, "protected resource metadata", "exceeded")
        await expectFailure([Self.server: Self.challenge, Self.prmURL: .json("[1,2]")], field: nil, "not a JSON object")
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(#"{"resource":"\#(Self.server)","authorization_servers":[]}"#)],
            field: "authorization_servers", "at least one")
    }

    @Test func aServerErrorOnMetadataIsProviderUnavailable() async {
        await expectFailure(
            [Self.server: Self.challenge, Self.prmURL: .json(Self.prm()), Self.asURL: .status(500)], code: .providerUnavailable, field: nil,
            "authorization server metadata", "500")
    }

    @Test func documentsAreKeptAsLongAsTheirMaxAgeSays() async throws {
        let fresh = [OutboundHeader(name: "Cache-Control", value: "public, max-age=60")]
        let transport = ScriptedTransport([
            Self.server: Self.challenge, Self.prmURL: .json(Self.prm(), headers: fresh),
            Self.asURL: .json(Self.asMetadata(), headers: [OutboundHeader(name: "Cache-Control", value: "no-store, max-age=60")]),
        ])
        let clock = ManualClock()
        let discovery = discovery(transport, clock: clock)
        _ = try await discovery.discover(serverURL: Self.server)
        _ = try await discovery.discover(serverURL: Self.server)
        #expect(transport.seen.filter { $0 == "GET \(Self.prmURL)" }.count == 1)
        #expect(transport.seen.filter { $0 == "GET \(Self.asURL)" }.count == 2)
        clock.advance(by: .seconds(61))
        _ = try await discovery.discover(serverURL: Self.server)
        #expect(transport.seen.filter { $0 == "GET \(Self.prmURL)" }.count == 2)
    }
}

@Suite struct BearerChallengeTests {
    @Test(arguments: [
        (#"Bearer resource_metadata="https://a.example/prm""#, "https://a.example/prm"),
        (#"Basic realm="x", Bearer error="invalid_token", resource_metadata="https://a.example/prm", scope="a b""#, "https://a.example/prm"),
        ("bearer resource_metadata=https://a.example/prm, scope=read", "https://a.example/prm"),
        (#"Bearer resource_metadata="https://a.example/p\"q""#, #"https://a.example/p"q"#),
    ])
    func theResourceMetadataIsReadFromTheBearerChallenge(header: String, expected: String) {
        #expect(BearerChallenge.parse([header])?.resourceMetadata == expected)
    }

    @Test func otherSchemesAndEmptyValuesHaveNoBearerChallenge() {
        #expect(BearerChallenge.parse([#"Basic realm="x""#]) == nil)
        #expect(BearerChallenge.parse([""]) == nil)
        #expect(BearerChallenge.parse(["Bearer"])?.resourceMetadata == nil)
        #expect(BearerChallenge.parse([#"Bearer scope="a b""#])?.scope == "a b")
    }
}

@Suite struct ResourceIdentifierTests {
    @Test func theCanonicalFormLowercasesDropsTheDefaultPortAndTheTrailingSlash() throws {
        let id = try ResourceIdentifier("HTTPS://MCP.Example.COM:443/mcp/", field: "url")
        #expect(id == (try ResourceIdentifier("https://mcp.example.com/mcp", field: "url")))
        #expect(id.description == "https://mcp.example.com/mcp")
        #expect(id.wellKnown("oauth-protected-resource") == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        #expect(try ResourceIdentifier("https://mcp.example.com:8443", field: "url").description == "https://mcp.example.com:8443/")
        #expect(try ResourceIdentifier("http://127.0.0.1:9000/mcp", field: "url").origin == "http://127.0.0.1:9000")
    }

    @Test(arguments: ["http://mcp.example.com/mcp", "ftp://mcp.example.com", "https://", "mcp.example.com/mcp", "https://user:pw@mcp.example.com/"])
    func anythingButHTTPSWithAHostIsRefusedNamingTheField(url: String) {
        let error = #expect(throws: LatchkeyError.self) { try ResourceIdentifier(url, field: "url") }
        #expect(error?.field == "url")
    }
}

@Suite struct ClientMetadataDocumentTests {
    @Test func itsClientIDIsItsOwnURLAndItComesBackOnlyToTheCallback() throws {
        let document = ClientMetadataDocument(publicURL: "https://lk.example.com", callbackURL: "https://lk.example.com/oauth/callback")
        let json = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(document))
        #expect(json == .object([
            "client_id": .string("https://lk.example.com/oauth/client-metadata.json"), "client_name": .string("Latchkey"),
            "client_uri": .string("https://lk.example.com"), "redirect_uris": .array([.string("https://lk.example.com/oauth/callback")]),
            "grant_types": .array([.string("authorization_code"), .string("refresh_token")]), "response_types": .array([.string("code")]),
            "token_endpoint_auth_method": .string("none"),
        ]))
    }
}
