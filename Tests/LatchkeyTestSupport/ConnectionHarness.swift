import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyObservability
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import LatchkeyTokens
import LatchkeyWebhooks
import Logging

/// One OAuth connection of `org:acme` in an in-memory store, a provider in memory and a clock that moves when told:
/// what the services need, for tests that run in milliseconds. Each ``broker(holder:random:)`` is one process sharing
/// the store.
public struct ConnectionHarness: Sendable {
    public let store = MemoryStore()
    public let clock = ManualClock()
    public let provider: FakeProvider
    public let vault: CredentialVault
    public let catalog: ProviderCatalog
    public let connectionID: ConnectionID
    public let org: OwnerRef
    public static let leaseTTL: TimeInterval = 30
    public let logger = Logger(label: "test")

    /// The provider `acme`: OAuth with PKCE, refresh tokens, revocation and an identity URL, a proxy base URL, and
    /// `pricing` as given.
    static func manifest(pricing: String) -> String {
        """
        id: acme
        name: Acme
        docs: https://docs.example.test
        categories: [testing]
        auth:
          mode: oauth2
          authorization_url: https://auth.example.test/authorize
          token_url: https://auth.example.test/token
          revocation_url: https://auth.example.test/revoke
          identity: {url: https://auth.example.test/userinfo, id: sub, name: name}
          scopes: [read]
          client_auth: client_secret_post
          token_request_format: form
          default_token_lifetime: 3600
        proxy:
          base_url: https://api.example.test
          inject:
            header: Authorization
            format: "Bearer {access_token}"
        pricing: \(pricing)
        """
    }

    /// A connection of `org:acme` (with an OAuth app there unless `withApp` is false) holding access token `a0` and
    /// `refreshToken`, expiring `expiresIn` seconds from the clock's now.
    public init(
        _ tokens: [FakeProvider.TokenAnswer], api: [FakeProvider.APIAnswer] = [.init(200)], expiresIn: TimeInterval = 60,
        refreshToken: String = "r1", withApp: Bool = true, pricing: String = "free"
    ) async throws {
        provider = FakeProvider(tokens: tokens, api: api)
        vault = CredentialVault(keyring: try MasterKeyring(masterKeys: [1: Array(repeating: 7, count: 32)]), dataKeys: store)
        let manifest = try ManifestParser.parse(yaml: Self.manifest(pricing: pricing), file: "acme.yaml", expectedID: "acme").get()
        catalog = ProviderCatalog([manifest.id: manifest])
        org = try OwnerRef(parsing: "org:acme")
        try await store.createOwner(org, at: clock.now)
        if withApp {
            try await AppDirectory(store: store, vault: vault, clock: clock).put(
                provider: "acme", owner: org, clientID: "client", clientSecret: "secret", scopes: ["read"])
        }
        connectionID = try await Self.connect(owner: org, store: store, vault: vault, clock: clock, expiresIn: expiresIn, refreshToken: refreshToken)
    }

    /// Stores another active connection of `acme` for `owner`, holding access token `a0`.
    @discardableResult
    public func addConnection(owner: OwnerRef, isDefault: Bool = true, expiresIn: TimeInterval = 3600) async throws -> ConnectionID {
        try await Self.connect(owner: owner, store: store, vault: vault, clock: clock, expiresIn: expiresIn, refreshToken: "r1", isDefault: isDefault)
    }

    static func connect(
        owner: OwnerRef, store: MemoryStore, vault: CredentialVault, clock: ManualClock, expiresIn: TimeInterval, refreshToken: String,
        isDefault: Bool = true
    ) async throws -> ConnectionID {
        let connection = Connection(
            id: .random(), provider: "acme", owner: owner, state: .active, expiresAt: clock.now.addingTimeInterval(expiresIn),
            isDefault: isDefault, createdAt: clock.now, updatedAt: clock.now)
        let sealed = try await vault.sealCredential(Credential(accessToken: "a0", refreshToken: refreshToken), for: connection)
        try await store.insert(connection, sealedCredential: sealed)
        return connection.id
    }

    /// A broker as one process (`holder`) runs it, with the backoff's jitter fixed so backoffs are exact.
    public func broker(holder: String = "process-a", random: Double = 1) -> TokenBroker {
        TokenBroker(
            store: store, vault: vault, catalog: catalog, oauth: OAuthClient(transport: provider, now: { [clock] in clock.now }),
            setups: OAuthSetups(apps: AppDirectory(store: store, vault: vault, clock: clock), remote: nil), cache: ConnectionCache(clock: clock),
            webhooks: WebhookEvents(store: store, clock: clock, wakeup: WakeSignal(), logger: logger), metrics: LatchkeyMetrics(),
            clock: clock, settings: TokenBroker.Settings(holder: holder, leaseTTL: Self.leaseTTL), random: { random })
    }

    /// The connection as the store holds it now.
    public func stored(_ id: ConnectionID? = nil) async throws -> StoredConnection {
        guard let stored = try await store.connection(id: id ?? connectionID) else { throw LatchkeyError(.notFound, "gone") }
        return stored
    }

    /// The credential the store holds now, opened.
    public func storedCredential() async throws -> Credential {
        let stored = try await stored()
        return try await vault.openCredential(stored.sealedCredential!, for: stored.connection)
    }

    /// The audit actions recorded so far, oldest first.
    public func auditActions() async throws -> [String] {
        try await store.events(AuditQuery(limit: 100)).reversed().map(\.action.rawValue)
    }
}
