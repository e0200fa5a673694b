import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// How Latchkey is authorized at remote MCP servers: the OAuth settings discovery finds, and the client it is at each
/// server's authorization server for an org.
///
/// The client, when no app is pre-registered (``OAuthSetups`` looks for one first), is the first of:
/// 1. the client registered earlier for the org at the same issuer, whose secret has not expired, so that tokens keep
///    refreshing on the client that was issued them;
/// 2. Latchkey's client ID metadata document (`{public_url}/oauth/client-metadata.json` as a public client), where the
///    server says it takes one;
/// 3. a client registered now (RFC 7591), at a flow's start only: stored sealed for the org, and reused. Registrations
///    for one server and org share one request in this process, and the store keeps the first across replicas.
public struct RemoteMCPAuthorization: RemoteAuthorization {
    let discovery: AuthorizationDiscovery
    let store: any MCPClientStore
    let vault: CredentialVault
    let transport: any HTTPTransport
    let audit: AuditTrail
    let clock: any LatchkeyClock
    /// Latchkey's public URL: its client ID metadata document, callback and `client_uri` live under it.
    let publicURL: String
    private let registrations = SingleFlight<String, StoredMCPClient>()

    public init(
        discovery: AuthorizationDiscovery, store: any MCPClientStore, vault: CredentialVault, transport: any HTTPTransport, audit: AuditTrail,
        clock: any LatchkeyClock, publicURL: String
    ) {
        self.discovery = discovery
        self.store = store
        self.vault = vault
        self.transport = transport
        self.audit = audit
        self.clock = clock
        self.publicURL = publicURL
    }

    public func spec(for manifest: ProviderManifest) async throws -> OAuth2Spec {
        try await discovered(manifest).spec
    }

    public func client(for manifest: ProviderManifest, spec: OAuth2Spec, owner: OwnerRef, registering: Bool) async throws
        -> (credentials: AppCredentials, method: ClientAuthMethod)?
    {
        let (_, server) = try await discovered(manifest)
        let org = owner.org
        let stored = try await store.mcpClient(provider: manifest.id, org: org)
        if let stored, stored.issuer == server.issuer, stored.secretExpiresAt.map({ $0 > clock.now }) ?? true,
            let usable = try? await opened(stored)
        {
            return usable
        }
        if server.clientIDMetadataDocuments {
            return (AppCredentials(clientID: publicURL + ClientMetadataDocument.path, clientSecret: nil), .none)
        }
        guard registering else { return nil }
        guard let endpoint = server.registrationEndpoint else {
            throw LatchkeyError(
                .appNotConfigured,
                "\(manifest.name) neither takes Latchkey's client ID metadata document nor registers clients: register an app (client id and secret) for it")
        }
        let registration = ClientRegistration(
            endpoint: endpoint, callbackURL: publicURL + "/oauth/callback", clientURI: publicURL, scopes: spec.scopes,
            offered: server.tokenEndpointAuthMethods)
        let client = try await registrations.value(for: StoredMCPClient.rowID(provider: manifest.id, org: org)) {
            try await register(registration, provider: manifest.id, org: org, issuer: server.issuer, replacing: stored?.clientID)
        }
        return try await opened(client)
    }

    /// The spec of `manifest`'s server, and its authorization server's metadata, from (cached) discovery.
    func discovered(_ manifest: ProviderManifest) async throws -> (spec: OAuth2Spec, server: AuthorizationServerMetadata) {
        guard let mcp = manifest.mcp else {
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) is not a remote MCP server", field: "provider")
        }
        let found = try await discovery.discover(serverURL: mcp.url)
        let server = found.authorizationServer
        let offered = server.tokenEndpointAuthMethods ?? [ClientAuthMethod.clientSecretBasic.rawValue]
        let confidential: ClientAuthMethod = offered.contains(ClientAuthMethod.clientSecretBasic.rawValue) || !offered.contains(
            ClientAuthMethod.clientSecretPost.rawValue) ? .clientSecretBasic : .clientSecretPost
        var spec = OAuth2Spec(
            authorizationURL: URLTemplate(server.authorizationEndpoint), tokenURL: URLTemplate(server.tokenEndpoint),
            revocationURL: server.revocationEndpoint.map(URLTemplate.init),
            scopes: mcp.scopes.isEmpty ? found.protectedResource.scopesSupported ?? [] : mcp.scopes, pkce: true, clientAuth: confidential,
            defaultTokenLifetime: nil, issuer: server.issuer, resource: found.protectedResource.resource)
        spec.clientIDInBody = true
        spec.endpointsDiscovered = true
        return (spec, server)
    }

    /// Registers a client, seals its secret for the org and stores it; when another replica stored one first, that one.
    private func register(
        _ registration: ClientRegistration, provider: ProviderID, org: String, issuer: String, replacing: String?
    ) async throws -> StoredMCPClient {
        let step = "client registration at \(registration.endpoint.prefix(200))"
        let response: OutboundResponse
        do {
            response = try await transport.send(registration.request(
                connectTimeout: discovery.connectTimeout, totalTimeout: discovery.totalTimeout, maxResponseBytes: discovery.maxDocumentBytes,
                addressPolicy: discovery.addressPolicy))
        } catch let error as OutboundError {
            throw LatchkeyError(outbound: error, step: step, limit: discovery.maxDocumentBytes)
        }
        let registered = try registration.registered(from: response)
        let orgOwner = try OwnerRef(kind: .org, segments: [org])
        let sealed = try await registered.clientSecret.asyncMap {
            try await vault.seal(Array($0.utf8), binding: Self.binding(provider: provider, org: orgOwner))
        }
        let now = clock.now
        let client = StoredMCPClient(
            provider: provider, org: org, issuer: issuer, clientID: registered.clientID, sealedSecret: sealed,
            authMethod: registered.method.rawValue, secretExpiresAt: registered.secretExpiresAt, registeredAt: now)
        guard try await store.saveMCPClient(client, replacing: replacing) else {
            guard let first = try await store.mcpClient(provider: provider, org: org) else {
                throw LatchkeyError(.conflict, "\(step): another registration changed the stored client; try again")
            }
            return first
        }
        await audit.record(AuditEvent(
            at: now, actor: .system, action: .mcpClientRegistered, owner: orgOwner, provider: provider,
            detail: "\(registered.method.rawValue) client at \(issuer.prefix(200))"))
        return client
    }

    /// The stored client with its secret opened.
    private func opened(_ client: StoredMCPClient) async throws -> (credentials: AppCredentials, method: ClientAuthMethod) {
        guard let method = ClientAuthMethod(rawValue: client.authMethod) else { throw LatchkeyError.malformedRow(column: "auth_method") }
        let orgOwner = try OwnerRef(kind: .org, segments: [client.org])
        let secret = try await client.sealedSecret.asyncMap {
            String(decoding: try await vault.open($0, binding: Self.binding(provider: client.provider, org: orgOwner)), as: UTF8.self)
        }
        return (AppCredentials(clientID: client.clientID, clientSecret: secret), method)
    }

    static func binding(provider: ProviderID, org: OwnerRef) -> SealBinding {
        SealBinding(purpose: "mcp_client_secret", rowID: StoredMCPClient.rowID(provider: provider, org: org.org), owner: org, provider: provider)
    }
}
