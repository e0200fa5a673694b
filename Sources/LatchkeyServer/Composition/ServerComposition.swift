import Foundation
import LatchkeyApprovals
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyGrants
import LatchkeyHTTP
import LatchkeyKeys
import LatchkeyMCP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyObservability
import LatchkeyProxy
import LatchkeyRemoteMCP
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens
import LatchkeyWebhooks
import Logging

/// The composition root of one Latchkey process: every service, cache and signal built once, from the adapters the
/// executable chose (the store, the key source, libcurl). `LatchkeyApplication` hands each route exactly the services
/// it uses; nothing else receives this value.
public struct ServerComposition: Sendable {
    // The adapters and settings the executable chose.
    public let store: any LatchkeyStorage
    public let vault: CredentialVault
    public let masterKeySource: any MasterKeySource
    public let catalog: ProviderCatalog
    public let oauth: OAuthClient
    public let transport: any HTTPTransport
    /// The client of proxied and tool calls (the event-loop client in production); `transport` unless given.
    public let proxyTransport: any HTTPTransport
    public let settings: ServerSettings
    public let clock: any LatchkeyClock
    public let logger: Logger
    public let metrics: LatchkeyMetrics

    // This process's caches and signals.
    /// Agent keys recently found valid (one second).
    let agentKeys: AgentKeyCache
    /// Failed authentications per client address and kind of key.
    let authFailures: AuthFailureLimiter
    /// Signalled when an agent's tools may have changed in this process (a connection written, grants set).
    let toolsChanged = WakeSignal()
    /// Wakes the background refresher (a connection was just connected).
    let refresherWake = WakeSignal()
    /// Wakes the webhook deliverer when an event is queued.
    let webhookWakeup = WakeSignal()
    /// Recent resolutions (one second) and opened credentials (by ciphertext), for the hot path.
    let connectionCache: ConnectionCache
    /// Tells the caches what the store's change log reports; nil for a store without one (the in-memory store).
    let changeFollower: StoreChangeFollower?

    // The services.
    let audit: AuditTrail
    let webhooks: WebhookEvents
    let webhookDirectory: WebhookDirectory
    let apps: AppDirectory
    let consentGate: ConsentGate
    let choices: CredentialChoices
    let resolver: ConnectionResolver
    let keyring: KeyringCoordinator
    let proxyStats: ProxyStats
    /// Each org's calls per day, managed or own.
    let usageLedger: UsageLedger
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let broker: TokenBroker
    let forcedRefresh: ForcedRefresh
    let proxy: ProxyService
    let tools: ToolRunner
    let grants: GrantDirectory
    let keyNarrowing: KeyNarrowing
    /// Holds agents to their grants under their org's policy.
    let access: AccessGuard
    /// Decides calls held for approval, and runs each approved one once.
    let approvals: ApprovalDesk
    let consents: Consents
    let personSignIn: PersonSignIn
    let mcpSessions: MCPSessions
    /// The remote MCP servers admins added; `sync()` loads them into the catalog.
    public let mcpServers: MCPServerDirectory

    public init(
        store: any LatchkeyStorage, vault: CredentialVault, masterKeySource: any MasterKeySource, catalog: ProviderCatalog, oauth: OAuthClient,
        transport: any HTTPTransport, proxyTransport: (any HTTPTransport)? = nil, settings: ServerSettings,
        clock: any LatchkeyClock = SystemClock(), logger: Logger, metrics: LatchkeyMetrics = LatchkeyMetrics()
    ) {
        self.store = store
        self.vault = vault
        self.masterKeySource = masterKeySource
        self.catalog = catalog
        self.oauth = oauth
        self.transport = transport
        self.proxyTransport = proxyTransport ?? transport
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        // With a change log to follow, the hot path's caches keep entries until a change instead of for one second.
        let changeLog = store as? any StoreChangeLog
        let watch = changeLog.map { _ in StoreChangeWatch() }
        let connectionCache = ConnectionCache(writes: toolsChanged, watch: watch, clock: clock)
        let agentKeys = AgentKeyCache(watch: watch, clock: clock)
        let reconnectLinks = ReconnectLinks()
        self.connectionCache = connectionCache
        self.agentKeys = agentKeys
        authFailures = AuthFailureLimiter(limits: settings.authFailureLimits, trustedProxies: settings.trustedProxies, clock: clock)

        let audit = AuditTrail(store: store, logger: logger)
        let webhooks = WebhookEvents(store: store, clock: clock, wakeup: webhookWakeup, logger: logger)
        let apps = AppDirectory(store: store, vault: vault, clock: clock)
        let consentGate = ConsentGate(store: store, clock: clock, publicURL: settings.publicURL)
        let choices = CredentialChoices(store: store, cache: connectionCache, audit: audit, clock: clock)
        let resolver = ConnectionResolver(
            store: store, cache: connectionCache, consents: consentGate, choices: choices, usage: ConnectionUsage(), audit: audit, clock: clock)
        self.audit = audit
        self.webhooks = webhooks
        self.webhookDirectory = WebhookDirectory(store: store, vault: vault, clock: clock)
        self.apps = apps
        self.consentGate = consentGate
        self.choices = choices
        self.resolver = resolver
        self.keyring = KeyringCoordinator(
            store: store, holder: vault.keyring, keySource: masterKeySource,
            replica: ReplicaSettings(id: settings.instanceID, address: settings.listenAddress, heartbeatInterval: settings.replicaHeartbeatInterval),
            startedAt: clock.now, clock: clock, logger: logger)
        let proxyStats = ProxyStats(store: store)
        self.proxyStats = proxyStats
        let usageLedger = UsageLedger(store: store)
        self.usageLedger = usageLedger

        // One discovery (and one cache of metadata documents) for adding servers and for their flows and refreshes.
        var discovery = AuthorizationDiscovery(transport: transport, cache: MetadataCache(), clock: clock)
        let remoteAddresses = OutboundAddressPolicy.publicOnly(allowing: settings.mcpAllowedNetworks)
        discovery.addressPolicy = remoteAddresses
        let setups = OAuthSetups(
            apps: apps,
            remote: RemoteMCPAuthorization(
                discovery: discovery, store: store, vault: vault, transport: transport, audit: audit, clock: clock, publicURL: settings.publicURL))
        let connections = ConnectionService(
            store: store, vault: vault, catalog: catalog, oauth: oauth, setups: setups, choices: choices, audit: audit, webhooks: webhooks,
            caches: ConnectionService.Caches(
                connections: connectionCache, reconnectLinks: reconnectLinks, agentKeys: agentKeys, refresherWake: refresherWake),
            clock: clock)
        let connectFlow = ConnectFlow(connections: connections, settings: settings.connect)
        self.connections = connections
        self.connectFlow = connectFlow

        let broker = TokenBroker(
            store: store, vault: vault, catalog: catalog, oauth: oauth, setups: setups, cache: connectionCache, webhooks: webhooks, metrics: metrics,
            clock: clock, settings: TokenBroker.Settings(holder: settings.instanceID, leaseTTL: settings.refreshLeaseTTL))
        let standings = StandingCache(watch: watch, clock: clock)
        if let changeLog, let watch {
            changeFollower = StoreChangeFollower(log: changeLog, subscribers: [connectionCache, agentKeys, standings, vault.cache], watch: watch)
        } else {
            changeFollower = nil
        }
        let access = AccessGuard(store: store, clock: clock, cache: standings)
        let filer = ApprovalFiler(
            store: store, vault: vault, audit: audit, clock: clock, publicURL: settings.publicURL, decisionWindow: settings.approvalWindow)
        let proxy = ProxyService(
            store: store, broker: broker, transport: self.proxyTransport, rateLimits: RateLimitGate(), stats: proxyStats, usage: usageLedger,
            metrics: metrics,
            reconnectLinks: connectFlow, access: access, approvals: filer, clock: clock)
        var remoteClient = StreamableHTTPClient(transport: transport)
        remoteClient.addressPolicy = remoteAddresses
        let remoteTools = RemoteToolGateway(
            client: remoteClient, broker: broker, store: store, reconnectLinks: connectFlow, clock: clock,
            toolsChanged: toolsChanged)
        let tools = ToolRunner(
            catalog: catalog, store: store, resolver: resolver, proxy: proxy, access: access, approvals: filer, remote: remoteTools)
        let approvals = ApprovalDesk(
            store: store, vault: vault, audit: audit, clock: clock, catalog: catalog, resolver: resolver, proxy: proxy, tools: tools,
            keys: agentKeys, identities: store, publicURL: settings.publicURL)
        self.approvals = approvals
        self.broker = broker
        self.forcedRefresh = ForcedRefresh(catalog: catalog, broker: broker, audit: audit, clock: clock)
        self.proxy = proxy
        self.tools = tools

        self.grants = GrantDirectory(
            store: store, clock: clock, audit: audit, catalog: catalog, toolsChanged: toolsChanged, standings: standings)
        self.access = access
        self.keyNarrowing = KeyNarrowing(store: store, access: access, catalog: catalog, audit: audit, clock: clock)
        self.consents = Consents(store: store, clock: clock, audit: audit, connectionCache: connectionCache, consentGate: consentGate)
        self.personSignIn = PersonSignIn(store: store, clock: clock, audit: audit, settings: settings, vault: vault, oauth: oauth)
        self.mcpServers = MCPServerDirectory(
            store: store, catalog: catalog, discovery: discovery,
            audit: audit, clock: clock, logger: logger)
        self.mcpSessions = MCPSessions(
            toolServer: MCPToolServer(
                tools: tools, catalog: catalog, connections: connections, connectFlow: connectFlow, store: store, approvals: approvals),
            store: store, toolsChanged: toolsChanged, clock: clock, publicURL: settings.publicURL, logger: logger)
    }
}
