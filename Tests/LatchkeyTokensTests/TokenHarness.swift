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

/// One OAuth connection in an in-memory store, a token endpoint in memory and a clock that moves when told: what
/// the broker needs, for tests that run in milliseconds. Each ``broker(holder:)`` is one process sharing the store.
struct TokenHarness {
    let store = MemoryStore()
    let clock = ManualClock()
    let endpoint: FakeTokenEndpoint
    let vault: CredentialVault
    let catalog: ProviderCatalog
    let connectionID: ConnectionID
    static let leaseTTL: TimeInterval = 30

    static let manifest = """
        id: acme
        name: Acme
        docs: https://docs.example.test
        categories: [testing]
        auth:
          mode: oauth2
          authorization_url: https://auth.example.test/authorize
          token_url: https://auth.example.test/token
          scopes: [read]
          client_auth: client_secret_post
          token_request_format: form
          default_token_lifetime: 3600
        proxy:
          base_url: https://api.example.test
          inject:
            header: Authorization
            format: "Bearer {access_token}"
        """

    /// A connection of `org:acme` (with an OAuth app there unless `withApp` is false) holding `access`/`refreshToken`, expiring `expiresIn` seconds from the clock's now.
    init(_ script: [FakeTokenEndpoint.Answer], expiresIn: TimeInterval = 60, refreshToken: String = "r1", withApp: Bool = true) async throws {
        endpoint = FakeTokenEndpoint(script)
        vault = CredentialVault(keyring: try MasterKeyring(masterKeys: [1: Array(repeating: 7, count: 32)]), dataKeys: store)
        let manifest = try ManifestParser.parse(yaml: Self.manifest, file: "acme.yaml", expectedID: "acme").get()
        catalog = ProviderCatalog([manifest.id: manifest])
        let org = try OwnerRef(parsing: "org:acme")
        try await store.createOwner(org, at: clock.now)
        if withApp {
            try await AppDirectory(store: store, vault: vault, clock: clock).put(
                provider: "acme", owner: org, clientID: "client", clientSecret: "secret", scopes: ["read"])
        }
        let connection = Connection(
            id: .random(), provider: "acme", owner: org, state: .active, expiresAt: clock.now.addingTimeInterval(expiresIn), isDefault: true,
            createdAt: clock.now, updatedAt: clock.now)
        connectionID = connection.id
        let sealed = try await vault.sealCredential(Credential(accessToken: "a0", refreshToken: refreshToken), for: connection)
        try await store.insert(connection, sealedCredential: sealed)
    }

    /// A broker as one process (`holder`) runs it, with jitter fixed so backoffs are exact.
    func broker(holder: String = "process-a", random: Double = 1) -> TokenBroker {
        let logger = Logger(label: "test")
        return TokenBroker(
            store: store, vault: vault, catalog: catalog, oauth: OAuthClient(transport: endpoint, now: { [clock] in clock.now }),
            apps: AppDirectory(store: store, vault: vault, clock: clock), cache: ConnectionCache(clock: clock),
            webhooks: WebhookEvents(store: store, clock: clock, wakeup: WakeSignal(), logger: logger), metrics: LatchkeyMetrics(),
            clock: clock, settings: TokenBroker.Settings(holder: holder, leaseTTL: Self.leaseTTL), random: { random })
    }

    /// The connection as the store holds it now.
    func stored() async throws -> StoredConnection {
        guard let stored = try await store.connection(id: connectionID) else { throw LatchkeyError(.notFound, "gone") }
        return stored
    }

    /// The credential the store holds now, opened.
    func storedCredential() async throws -> Credential {
        let stored = try await stored()
        return try await vault.openCredential(stored.sealedCredential!, for: stored.connection)
    }

    /// The audit actions recorded so far, oldest first.
    func auditActions() async throws -> [String] {
        try await store.events(AuditQuery(limit: 100)).reversed().map(\.action)
    }
}
