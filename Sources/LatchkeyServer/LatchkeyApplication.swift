import Foundation
import Hummingbird
import LatchkeyCrypto
import LatchkeyKeys
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore
import LatchkeyTokens
import LatchkeyWebhooks
import Logging
import ServiceLifecycle

/// Builds the Hummingbird application: every route, its authentication and error handling.
public enum LatchkeyApplication {
    /// The router with all of Latchkey's routes, for tests and for `build`.
    public static func router(services: LatchkeyServices, openAPI: String) -> Router<LatchkeyContext> {
        router(services: services, openAPI: openAPI, broker: tokenBroker(services))
    }

    static func router(services: LatchkeyServices, openAPI: String, broker: TokenBroker) -> Router<LatchkeyContext> {
        let router = Router(context: LatchkeyContext.self)
        router.add(middleware: RequestLogMiddleware(logger: services.logger, metrics: services.metrics))
        router.add(middleware: ErrorMiddleware())
        OperationsRoutes(services: services, openAPI: openAPI).register(on: router)
        let personSessions = PersonSessions(store: services.store)
        ConnectRoutes(services: services, pages: Pages(), personSessions: personSessions).register(on: router)
        PersonRoutes(services: services, sessions: personSessions, pages: DashboardPages(templates: PersonTemplates.all, formAction: "*")).register(on: router)
        registerDashboard(on: router, services: services, broker: broker)
        let admin = router.group("/v1/admin").add(
            middleware: CallerAuthentication(adminKeyHash: services.settings.adminKeyHash, identities: services.store, adminOnly: true, cache: services.agentKeys))
        AdminRoutes(services: services, broker: broker).register(on: admin)
        KeyRoutes(
            services: services, rotation: KeyRotation(coordinator: services.keyring, audit: services.auditTrail),
            integrity: IntegrityCheck(store: services.store, vault: services.vault, audit: services.auditTrail, clock: services.clock)
        ).register(on: admin)
        WebhookRoutes(services: services).register(on: admin)
        let api = router.group("/v1").add(
            middleware: CallerAuthentication(adminKeyHash: services.settings.adminKeyHash, identities: services.store, adminOnly: false, cache: services.agentKeys))
        AgentRoutes(services: services).register(on: api)
        ProxyRoutes(services: services, broker: broker).register(on: api)
        ToolRoutes(services: services, tools: services.tools(broker)).register(on: api)
        let mcp = router.group("/mcp").add(
            middleware: CallerAuthentication(adminKeyHash: services.settings.adminKeyHash, identities: services.store, adminOnly: false, cache: services.agentKeys))
        MCPRoutes(sessions: services.mcpSessions(broker)).register(on: mcp)
        return router
    }

    /// The application, listening on `host:port`, with the background refresher, the webhook deliverer, the proxy
    /// stats flusher and the replica heartbeat beside it.
    public static func build(services: LatchkeyServices, host: String, port: Int, openAPI: String) -> some ApplicationProtocol {
        let broker = tokenBroker(services)
        return Application(
            router: router(services: services, openAPI: openAPI, broker: broker),
            configuration: .init(address: .hostname(host, port: port), serverName: "latchkey"),
            services: (services.settings.backgroundRefresh ? [BackgroundRefresher(store: services.store, broker: broker, wakeup: services.refresherWake, clock: services.clock, logger: services.logger)] : [])
                + [webhookDeliverer(services) as any Service, proxyStatsFlusher(services)]
                + [ReplicaPresence(coordinator: services.keyring)],
            logger: services.logger)
    }
}

extension LatchkeyApplication {
    /// `/admin`: the sign-in pages outside the session check, everything else behind it.
    static func registerDashboard(on router: Router<LatchkeyContext>, services: LatchkeyServices, broker: TokenBroker) {
        let sessions = AdminSessions(store: services.store)
        let pages = DashboardPages()
        let signedIn = router.group("/admin").add(middleware: DashboardAuthentication(sessions: sessions, clock: services.clock))
        SignInRoutes(services: services, sessions: sessions, pages: pages).register(on: router, signedIn: signedIn)
        IntegrationPages(services: services, sessions: sessions, pages: pages).register(on: signedIn)
        DashboardActions(services: services, broker: broker, sessions: sessions, pages: pages).register(on: signedIn)
    }

    /// The master keyring as agreed with the other replicas sharing `store`: the database's wrapping version is
    /// current (this replica must hold it); on a new database, the highest loaded version, recorded there.
    public static func agreedKeyring(_ loaded: MasterKeyring, store: any KeyringStateStore) async throws -> MasterKeyring {
        try await KeyringCoordinator.agree(on: loaded, store: store, now: Date())
    }

    /// The token broker of this process.
    static func tokenBroker(_ services: LatchkeyServices) -> TokenBroker {
        TokenBroker(
            store: services.store, vault: services.vault, catalog: services.catalog, oauth: services.oauth, apps: services.apps,
            cache: services.connectionCache, webhooks: services.webhooks, metrics: services.metrics, clock: services.clock,
            settings: TokenBroker.Settings(holder: services.settings.instanceID, leaseTTL: services.settings.refreshLeaseTTL))
    }

    static func webhookDeliverer(_ services: LatchkeyServices) -> WebhookDeliverer {
        WebhookDeliverer(
            store: services.store, directory: services.webhookDirectory, transport: services.transport, clock: services.clock,
            wakeup: services.webhookWakeup, logger: services.logger)
    }

    static func proxyStatsFlusher(_ services: LatchkeyServices) -> ProxyStatsFlusher {
        ProxyStatsFlusher(
            stats: services.proxyStats, store: services.store, interval: .milliseconds(Int(services.settings.proxyStatsFlushInterval * 1000)),
            clock: services.clock, logger: services.logger)
    }

    /// Sets an org's identity provider for people's sign-in, as `PUT /v1/admin/orgs/{org}/sign-in` does (for
    /// configuration files); its discovery document is read at the first sign-in rather than now.
    public static func configureSignIn(
        services: LatchkeyServices, org: OwnerRef, issuer: String, clientID: String, clientSecret: String?
    ) async throws {
        guard URLRules.isAllowed(issuer) else {
            throw LatchkeyError(.invalidRequest, "issuer: '\(issuer.prefix(100))' is not an https URL", field: "issuer")
        }
        try await PersonSignIn(services: services).configure(
            org: org, issuer: issuer, clientID: clientID, clientSecret: clientSecret, readDiscovery: false)
    }

    /// Registers or rotates an OAuth app, as `PUT /v1/admin/apps/{provider}` does (for configuration files).
    public static func registerApp(
        services: LatchkeyServices, provider: ProviderID, owner: OwnerRef, clientID: String, clientSecret: String?, scopes: [String]
    ) async throws {
        try await services.apps.put(provider: provider, owner: owner, clientID: clientID, clientSecret: clientSecret, scopes: scopes)
    }
}
