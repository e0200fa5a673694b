import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRemoteMCP
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import Logging
import Testing

/// How Latchkey is a client of a remote MCP server's authorization server: discovery gives the settings; a
/// pre-registered app comes first, then Latchkey's client ID metadata document where the server takes one, then a
/// client registered once (RFC 7591) per server and org, sealed, reused, and never registered by a refresh.
@Suite struct RemoteMCPAuthorizationTests {
    typealias D = AuthorizationDiscoveryTests
    static let registerURL = "https://auth.example.com/tenant1/register"
    let store = MemoryStore()
    let clock = ManualClock()
    let vault: CredentialVault
    let manifest: ProviderManifest
    let acme = try! OwnerRef(parsing: "agent:acme/core/web/bot")
    let globex = try! OwnerRef(parsing: "org:globex")

    init() throws {
        vault = CredentialVault(keyring: try MasterKeyring(masterKeys: [1: Array(repeating: 7, count: 32)]), dataKeys: store)
        manifest = .remoteMCP(id: "notes", name: "Notes", spec: RemoteMCPSpec(url: D.server, scopes: [], tools: .all), origin: .admin)
    }

    /// Authorization server metadata with the client ID metadata document on or off, and these token endpoint methods.
    static func asMetadata(cimd: Bool, issuer: String = D.issuer, methods: String? = nil) -> String {
        """
        {"issuer":"\(issuer)","authorization_endpoint":"https://auth.example.com/tenant1/authorize",
         "token_endpoint":"https://auth.example.com/tenant1/token","revocation_endpoint":"https://auth.example.com/tenant1/revoke",
         "registration_endpoint":"\(registerURL)","code_challenge_methods_supported":["S256"],
         "client_id_metadata_document_supported":\(cimd)\(methods.map { #","token_endpoint_auth_methods_supported":\#($0)"# } ?? "")}
        """
    }

    static func script(cimd: Bool = false, methods: String? = nil, registration: ScriptedTransport.Answer? = nil)
        -> [String: ScriptedTransport.Answer]
    {
        var script: [String: ScriptedTransport.Answer] = [
            D.server: D.challenge, D.prmURL: .json(D.prm()), D.asURL: .json(asMetadata(cimd: cimd, methods: methods)),
        ]
        script[registerURL] = registration ?? .json(#"{"client_id":"dyn-1","client_secret":"s3cret-dyn","token_endpoint_auth_method":"client_secret_basic","client_secret_expires_at":0}"#, status: 201)
        return script
    }

    func authorization(_ transport: ScriptedTransport) -> RemoteMCPAuthorization {
        RemoteMCPAuthorization(
            discovery: AuthorizationDiscovery(transport: transport, cache: MetadataCache(), clock: clock), store: store, vault: vault,
            transport: transport, audit: AuditTrail(store: store, logger: Logger(label: "test")), clock: clock,
            publicURL: "https://lk.example.com")
    }

    @Test func theSpecIsWhatDiscoveryFound() async throws {
        let spec = try await authorization(ScriptedTransport(Self.script())).spec(for: manifest)
        #expect(spec.authorizationURL.raw == "https://auth.example.com/tenant1/authorize")
        #expect(spec.tokenURL.raw == "https://auth.example.com/tenant1/token")
        #expect(spec.revocationURL?.raw == "https://auth.example.com/tenant1/revoke")
        #expect(spec.resource == D.server && spec.issuer == D.issuer && spec.pkce && spec.clientIDInBody && spec.endpointsDiscovered)
        // The server's own scopes when the manifest names none; RFC 8414's default client authentication.
        #expect(spec.scopes == ["tools:read"] && spec.clientAuth == .clientSecretBasic)
        var named = manifest
        named.mcp?.scopes = ["notes"]
        let post = try await authorization(ScriptedTransport(Self.script(methods: #"["client_secret_post","none"]"#))).spec(for: named)
        #expect(post.scopes == ["notes"] && post.clientAuth == .clientSecretPost)
    }

    @Test func aServerThatTakesClientIDMetadataDocumentsGetsLatchkeysAndNothingIsRegistered() async throws {
        let transport = ScriptedTransport(Self.script(cimd: true))
        let remote = authorization(transport)
        let spec = try await remote.spec(for: manifest)
        let client = try #require(try await remote.client(for: manifest, spec: spec, owner: acme, registering: true))
        #expect(client.credentials.clientID == "https://lk.example.com/oauth/client-metadata.json")
        #expect(client.credentials.clientSecret == nil && client.method == ClientAuthMethod.none)
        #expect(transport.requests(to: Self.registerURL).isEmpty)
        #expect(try await store.mcpClient(provider: "notes", org: "acme") == nil)
    }

    @Test func aClientIsRegisteredAtAFlowsStartSealedAuditedAndReusedPerOrg() async throws {
        let transport = ScriptedTransport(Self.script())
        let remote = authorization(transport)
        let spec = try await remote.spec(for: manifest)
        // A refresh or revocation never registers.
        #expect(try await remote.client(for: manifest, spec: spec, owner: acme, registering: false) == nil)
        #expect(transport.requests(to: Self.registerURL).isEmpty)

        let client = try #require(try await remote.client(for: manifest, spec: spec, owner: acme, registering: true))
        #expect(client.credentials.clientID == "dyn-1" && client.credentials.clientSecret == "s3cret-dyn")
        #expect(client.method == .clientSecretBasic)
        let sent = try #require(transport.requests(to: Self.registerURL).first)
        let body = try #require(JSONValue.parse(sent.body ?? [])?.objectValue)
        #expect(sent.method == "POST" && !sent.followRedirects)
        #expect(body["redirect_uris"] == .array([.string("https://lk.example.com/oauth/callback")]))
        #expect(body["token_endpoint_auth_method"] == .string("client_secret_basic") && body["scope"] == .string("tools:read"))
        #expect(body["grant_types"] == .array([.string("authorization_code"), .string("refresh_token")]))

        let stored = try #require(try await store.mcpClient(provider: "notes", org: "acme"))
        #expect(stored.clientID == "dyn-1" && stored.issuer == D.issuer && stored.authMethod == "client_secret_basic")
        let sealed = try #require(stored.sealedSecret)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("s3cret-dyn"))
        let events = try await store.events(AuditQuery(limit: 10))
        let acmeOrg = try OwnerRef(parsing: "org:acme")
        #expect(events.map(\.action) == [.mcpClientRegistered] && events.first?.owner == acmeOrg)
        #expect(events.first?.detail?.contains("s3cret") == false)

        // Every later flow and refresh of the org uses it; another org registers its own.
        let again = try await remote.client(for: manifest, spec: spec, owner: try OwnerRef(parsing: "user:acme/ann"), registering: false)
        #expect(again?.credentials.clientID == "dyn-1" && again?.credentials.clientSecret == "s3cret-dyn")
        _ = try await remote.client(for: manifest, spec: spec, owner: globex, registering: true)
        #expect(transport.requests(to: Self.registerURL).count == 2)
        #expect(try await store.mcpClient(provider: "notes", org: "globex")?.clientID == "dyn-1")
    }

    @Test func aClientRegisteredEarlierKeepsServingWhenTheServerLaterTakesMetadataDocuments() async throws {
        let spec = try await authorization(ScriptedTransport(Self.script())).spec(for: manifest)
        _ = try await authorization(ScriptedTransport(Self.script())).client(for: manifest, spec: spec, owner: acme, registering: true)
        let later = try await authorization(ScriptedTransport(Self.script(cimd: true))).client(
            for: manifest, spec: spec, owner: acme, registering: false)
        #expect(later?.credentials.clientID == "dyn-1")
    }

    @Test func aServerThatMovedToAnotherIssuerGetsANewClient() async throws {
        let remote = authorization(ScriptedTransport(Self.script()))
        let spec = try await remote.spec(for: manifest)
        _ = try await remote.client(for: manifest, spec: spec, owner: acme, registering: true)
        var old = try #require(try await store.mcpClient(provider: "notes", org: "acme"))
        old.issuer = "https://old-auth.example.com"
        old.clientID = "dyn-old"
        #expect(try await store.saveMCPClient(old, replacing: "dyn-1"))
        let transport = ScriptedTransport(Self.script())
        let fresh = try await authorization(transport).client(for: manifest, spec: spec, owner: acme, registering: true)
        #expect(fresh?.credentials.clientID == "dyn-1" && transport.requests(to: Self.registerURL).count == 1)
        #expect(try await store.mcpClient(provider: "notes", org: "acme")?.issuer == D.issuer)
    }

    @Test func concurrentFlowStartsRegisterOnce() async throws {
        let transport = ScriptedTransport(Self.script())
        let remote = authorization(transport)
        let spec = try await remote.spec(for: manifest)
        let (owner, manifest) = (acme, manifest)
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<10 {
                group.addTask { try await remote.client(for: manifest, spec: spec, owner: owner, registering: true)?.credentials.clientID }
            }
            return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        #expect(ids == ["dyn-1"])
        #expect(transport.requests(to: Self.registerURL).count <= 10)
        #expect(try await store.events(AuditQuery(limit: 20)).filter { $0.action == .mcpClientRegistered }.count == 1)
    }

    @Test(arguments: [
        (ScriptedTransport.Answer.json(#"{"error":"invalid_client_metadata","error_description":"no"}"#, status: 400), LatchkeyError.Code.providerError, "invalid_client_metadata"),
        (.status(503), .providerUnavailable, "HTTP 503"),
        (.json(#"{"client_secret":"x"}"#, status: 201), .invalidProviderResponse, "client_id"),
        (.json(#"{"client_id":"dyn-2","token_endpoint_auth_method":"client_secret_basic"}"#, status: 201), .invalidProviderResponse, "client_secret"),
        (.json(#"{"client_id":"dyn-2","client_secret":"x","token_endpoint_auth_method":"private_key_jwt"}"#, status: 201), .invalidProviderResponse, "token_endpoint_auth_method"),
        (.json("[]", status: 201), .invalidProviderResponse, "not a JSON object"),
        (.status(302, headers: [OutboundHeader(name: "Location", value: "https://elsewhere.example/")]), .providerError, "HTTP 302"),
    ])
    func aFailedRegistrationIsAClearErrorAndStoresNothing(answer: ScriptedTransport.Answer, code: LatchkeyError.Code, words: String) async throws {
        let remote = authorization(ScriptedTransport(Self.script(registration: answer)))
        let spec = try await remote.spec(for: manifest)
        let error = await #expect(throws: LatchkeyError.self) {
            _ = try await remote.client(for: manifest, spec: spec, owner: acme, registering: true)
        }
        #expect(error?.code == code && error?.message.contains(words) == true)
        #expect(error?.message.contains("x\"") == false)
        #expect(try await store.mcpClient(provider: "notes", org: "acme") == nil)
        #expect(try await store.events(AuditQuery(limit: 10)).isEmpty)
    }

    @Test func aPublicClientRegistrationNeedsNoSecret() async throws {
        let remote = authorization(ScriptedTransport(Self.script(
            methods: #"["none"]"#, registration: .json(#"{"client_id":"pub-1","token_endpoint_auth_method":"none"}"#, status: 201))))
        let spec = try await remote.spec(for: manifest)
        let client = try await remote.client(for: manifest, spec: spec, owner: acme, registering: true)
        #expect(client?.credentials.clientID == "pub-1" && client?.credentials.clientSecret == nil && client?.method == ClientAuthMethod.none)
        #expect(try await store.mcpClient(provider: "notes", org: "acme")?.sealedSecret == nil)
    }

    @Test func aPreRegisteredAppComesFirstAndAnAppWithoutSecretIsAPublicClient() async throws {
        let transport = ScriptedTransport(Self.script(cimd: true))
        let apps = AppDirectory(store: store, vault: vault, clock: clock)
        let setups = OAuthSetups(apps: apps, remote: authorization(transport))
        try await apps.put(provider: "notes", owner: try OwnerRef(parsing: "org:acme"), clientID: "pre-1", clientSecret: "pre-secret", scopes: [])
        let confidential = try #require(try await setups.setup(for: manifest, owner: acme, source: .own, registering: true))
        #expect(confidential.credentials.clientID == "pre-1" && confidential.credentials.clientSecret == "pre-secret")
        #expect(confidential.spec.clientAuth == .clientSecretBasic && confidential.spec.resource == D.server)
        try await apps.put(provider: "notes", owner: try OwnerRef(parsing: "org:acme"), clientID: "pre-2", clientSecret: nil, scopes: ["notes"])
        let publicApp = try #require(try await setups.setup(for: manifest, owner: acme, source: .own))
        #expect(publicApp.credentials.clientID == "pre-2" && publicApp.spec.clientAuth == ClientAuthMethod.none)
        #expect(transport.requests(to: Self.registerURL).isEmpty)
        // Without an app, the metadata document.
        let other = try #require(try await setups.setup(for: manifest, owner: globex, source: .own))
        #expect(other.credentials.clientID == "https://lk.example.com/oauth/client-metadata.json" && other.app == nil)
    }

    @Test func aServerThatOffersNoWayToBeAClientNamesTheAppToRegister() async throws {
        var script = Self.script()
        script[D.asURL] = .json(D.asMetadata().replacingOccurrences(of: "\"client_id_metadata_document_supported\":true", with: "\"x\":1")
            .replacingOccurrences(of: #""registration_endpoint":"https://auth.example.com/tenant1/register","#, with: ""))
        let remote = authorization(ScriptedTransport(script))
        let spec = try await remote.spec(for: manifest)
        let error = await #expect(throws: LatchkeyError.self) {
            _ = try await remote.client(for: manifest, spec: spec, owner: acme, registering: true)
        }
        #expect(error?.code == .appNotConfigured && error?.message.contains("register an app") == true)
    }
}
