import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyStore
import Logging

/// Everything the routes need, wired once by the composition root.
public struct LatchkeyServices: Sendable {
    public let store: any LatchkeyStorage
    public let vault: CredentialVault
    /// Where the master keys live (the key file or the environment): rotation adds and retires versions there.
    public let masterKeySource: any MasterKeySource
    public let catalog: ProviderCatalog
    public let oauth: OAuthClient
    /// Carries proxied and tool calls to providers (libcurl in production).
    public let transport: any HTTPTransport
    public let settings: ServerSettings
    public let now: @Sendable () -> Date
    public let logger: Logger
    /// Counters and histograms for `GET /metrics`.
    public let metrics: LatchkeyMetrics
    /// Agent keys recently found valid (one second).
    let agentKeys = AgentKeyCache()
    /// Per-connection rate-limit holds, shared by every call through this process.
    let rateLimits = RateLimitGate()
    /// Signalled when an agent's tools may have changed in this process (a connection written, grants set).
    let toolsChanged = WakeSignal()
    /// Wakes the background refresher (a connection was just connected).
    let refresherWake = WakeSignal()
    /// Recent resolutions (one second) and opened credentials (by ciphertext), for the hot path.
    let connectionCache: ConnectionCache
    /// Reconnect links handed out in 424 answers, reused while fresh.
    let reconnectLinks = ReconnectLinks()
    /// Which agents used which person's connection, recorded in the audit log at most once a minute per pair.
    let connectionUsage = ConnectionUsage()
    /// Wakes the webhook deliverer when an event is queued.
    let webhookWakeup = WakeSignal()
    /// Proxied calls and errors per provider and hour, for the dashboard (every replica, last 24 hours).
    let proxyStats: ProxyStats

    public init(
        store: any LatchkeyStorage, vault: CredentialVault, masterKeySource: any MasterKeySource, catalog: ProviderCatalog, oauth: OAuthClient,
        transport: any HTTPTransport, settings: ServerSettings, now: @escaping @Sendable () -> Date = Date.init, logger: Logger,
        metrics: LatchkeyMetrics = LatchkeyMetrics()
    ) {
        self.metrics = metrics
        self.connectionCache = ConnectionCache(writes: toolsChanged)
        self.proxyStats = ProxyStats(store: store)
        self.transport = transport
        self.store = store
        self.vault = vault
        self.masterKeySource = masterKeySource
        self.catalog = catalog
        self.oauth = oauth
        self.settings = settings
        self.now = now
        self.logger = logger
    }

    /// Queues connection events for the org's webhook.
    var webhooks: WebhookEvents { WebhookEvents(services: self) }

    /// Appends to the audit log; a failure to audit is logged, never shown to the caller.
    func audit(_ event: AuditEvent) async {
        do { try await store.append(event) } catch {
            logger.error("audit append failed", metadata: ["action": "\(event.action)"])
        }
    }
}

/// The loaded provider manifests.
public struct ProviderCatalog: Sendable {
    public let manifests: [ProviderID: ProviderManifest]
    public init(_ manifests: [ProviderID: ProviderManifest]) { self.manifests = manifests }

    /// The manifest of `id`, or `unknown_provider` naming the field.
    public func manifest(_ id: String, field: String = "provider") throws(LatchkeyError) -> ProviderManifest {
        guard let m = manifests[ProviderID(id)] else {
            throw LatchkeyError(.unknownProvider, "\(field): no provider '\(id.prefix(64))' is loaded", field: field)
        }
        return m
    }

    public var sorted: [ProviderManifest] { manifests.values.sorted { $0.id < $1.id } }
}
