import Foundation
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyKeys
import LatchkeyMCP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyObservability
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens
import LatchkeyWebhooks
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
    /// The time every service reads and waits on.
    public let clock: any LatchkeyClock
    public let logger: Logger
    /// Counters and histograms for `GET /metrics`.
    public let metrics: LatchkeyMetrics
    /// Agent keys recently found valid (one second).
    let agentKeys: AgentKeyCache
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
    /// Queues connection events for the org's webhook.
    let webhooks: WebhookEvents
    /// Org webhooks and their sealed signing secrets.
    let webhookDirectory: WebhookDirectory
    /// The audit log, as the flows append to it.
    let auditTrail: AuditTrail
    /// OAuth app registrations, found up the owner chain.
    let apps: AppDirectory
    /// A person's consent, checked when an agent uses their connection.
    let consentGate: ConsentGate
    /// Which connection a call uses.
    let resolver: ConnectionResolver
    /// This replica's master keys in step with the other replicas'.
    let keyring: KeyringCoordinator
    /// Installs, saves, removes and revokes connections.
    let connections: ConnectionService
    /// Connect links and the flows a person runs from them.
    let connectFlow: ConnectFlow
    /// Proxied calls and errors per provider and hour, for the dashboard (every replica, last 24 hours).
    let proxyStats: ProxyStats

    public init(
        store: any LatchkeyStorage, vault: CredentialVault, masterKeySource: any MasterKeySource, catalog: ProviderCatalog, oauth: OAuthClient,
        transport: any HTTPTransport, settings: ServerSettings, clock: any LatchkeyClock = SystemClock(), logger: Logger,
        metrics: LatchkeyMetrics = LatchkeyMetrics()
    ) {
        self.metrics = metrics
        self.connectionCache = ConnectionCache(writes: toolsChanged, clock: clock)
        self.agentKeys = AgentKeyCache(clock: clock)
        self.webhooks = WebhookEvents(store: store, clock: clock, wakeup: webhookWakeup, logger: logger)
        self.webhookDirectory = WebhookDirectory(store: store, vault: vault, clock: clock)
        self.auditTrail = AuditTrail(store: store, logger: logger)
        self.apps = AppDirectory(store: store, vault: vault, clock: clock)
        self.consentGate = ConsentGate(store: store, clock: clock, publicURL: settings.publicURL)
        self.resolver = ConnectionResolver(
            store: store, cache: connectionCache, consents: consentGate, usage: connectionUsage, audit: auditTrail, clock: clock)
        self.keyring = KeyringCoordinator(
            store: store, holder: vault.keyring, keySource: masterKeySource,
            replica: ReplicaSettings(id: settings.instanceID, address: settings.listenAddress, heartbeatInterval: settings.replicaHeartbeatInterval),
            startedAt: clock.now, clock: clock, logger: logger)
        self.proxyStats = ProxyStats(store: store)
        self.connections = ConnectionService(
            store: store, vault: vault, catalog: catalog, oauth: oauth, apps: apps, audit: auditTrail, webhooks: webhooks,
            caches: ConnectionService.Caches(
                connections: connectionCache, reconnectLinks: reconnectLinks, agentKeys: agentKeys, refresherWake: refresherWake),
            clock: clock)
        self.connectFlow = ConnectFlow(connections: connections, settings: settings.connect)
        self.transport = transport
        self.store = store
        self.vault = vault
        self.masterKeySource = masterKeySource
        self.catalog = catalog
        self.oauth = oauth
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Appends to the audit log; a failure to audit is logged, never shown to the caller.
    func audit(_ event: AuditEvent) async { await auditTrail.record(event) }

    /// The proxy, on `broker`'s tokens.
    func proxy(_ broker: TokenBroker) -> ProxyService {
        ProxyService(
            store: store, broker: broker, transport: transport, rateLimits: rateLimits, stats: proxyStats, metrics: metrics,
            reconnectLinks: connectFlow, clock: clock)
    }

    /// MCP sessions, on `broker`'s tokens.
    func mcpSessions(_ broker: TokenBroker) -> MCPSessions {
        MCPSessions(
            toolServer: MCPToolServer(tools: tools(broker), catalog: catalog, connections: connections, connectFlow: connectFlow, store: store),
            toolsChanged: toolsChanged, clock: clock, publicURL: settings.publicURL)
    }

    /// The tool runner, on `broker`'s tokens.
    func tools(_ broker: TokenBroker) -> ToolRunner { ToolRunner(catalog: catalog, store: store, resolver: resolver, proxy: proxy(broker)) }
}
