import Foundation
import Hummingbird
import LatchkeyCrypto
import LatchkeyKeys
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRemoteMCP
import LatchkeyStore
import LatchkeyTokens
import LatchkeyWebhooks
import Logging
import ServiceLifecycle

/// Builds the Hummingbird application: every route with the services it uses, its authentication and error handling.
public enum LatchkeyApplication {
    /// What answers every request: the router, with the proxy's lane in front of it.
    public static func responder(_ c: ServerComposition, openAPI: String) -> LatchkeyResponder {
        LatchkeyResponder(
            router: router(c, openAPI: openAPI).buildResponder(), proxy: proxyRoutes(c), log: requestLog(c),
            authentication: callerAuthentication(c, adminOnly: false))
    }

    /// The router with all of Latchkey's routes.
    public static func router(_ c: ServerComposition, openAPI: String) -> Router<LatchkeyContext> {
        let router = Router(context: LatchkeyContext.self)
        router.add(middleware: requestLog(c))
        router.add(middleware: ErrorMiddleware())
        OperationsRoutes(
            store: c.store, metrics: c.metrics, openAPI: openAPI,
            clientMetadata: ClientMetadataDocument(publicURL: c.settings.publicURL, callbackURL: c.settings.callbackURL)
        ).register(on: router)
        let personSessions = PersonSessions(store: c.store)
        ConnectRoutes(
            clock: c.clock, audit: c.audit, settings: c.settings, catalog: c.catalog, logger: c.logger, connectFlow: c.connectFlow,
            pages: Pages(), personSessions: personSessions
        ).register(on: router)
        let web = PersonPages(
            sessions: personSessions, pages: DashboardPages(templates: PersonTemplates.all, formAction: "*"), clock: c.clock, logger: c.logger)
        PersonSignInRoutes(web: web, personSignIn: c.personSignIn, audit: c.audit, settings: c.settings).register(on: router)
        PersonConsoleRoutes(
            web: web, store: c.store, catalog: c.catalog, connections: c.connections, connectFlow: c.connectFlow, consents: c.consents
        ).register(on: router)
        PersonConsentRoutes(web: web, store: c.store, catalog: c.catalog, consents: c.consents, audit: c.audit).register(on: router)
        PersonApprovalRoutes(web: web, desk: c.approvals).register(on: router)
        registerDashboard(on: router, c)
        let admin = router.group("/v1/admin").add(middleware: callerAuthentication(c, adminOnly: true)).group(context: AdminContext.self)
        let bodyLimit = c.settings.maxJSONBodyBytes
        AdminOwnerRoutes(store: c.store, clock: c.clock, audit: c.audit, agentKeys: c.agentKeys, bodyLimit: bodyLimit).register(on: admin)
        AdminSignInRoutes(store: c.store, clock: c.clock, audit: c.audit, personSignIn: c.personSignIn, settings: c.settings).register(on: admin)
        AdminGrantRoutes(store: c.store, clock: c.clock, audit: c.audit, grants: c.grants, usage: c.usageLedger, bodyLimit: bodyLimit).register(on: admin)
        AdminAppRoutes(store: c.store, clock: c.clock, audit: c.audit, catalog: c.catalog, apps: c.apps, settings: c.settings).register(on: admin)
        AdminAuditRoutes(store: c.store).register(on: admin)
        AdminCredentialRoutes(store: c.store, catalog: c.catalog, choices: c.choices, bodyLimit: bodyLimit).register(on: admin)
        AdminMCPServerRoutes(directory: c.mcpServers, catalog: c.catalog, bodyLimit: bodyLimit).register(on: admin)
        AdminConnectionRoutes(
            store: c.store, catalog: c.catalog, connections: c.connections, connectFlow: c.connectFlow, forcedRefresh: c.forcedRefresh,
            bodyLimit: bodyLimit
        ).register(on: admin)
        KeyRoutes(
            settings: c.settings, rotation: KeyRotation(coordinator: c.keyring, audit: c.audit),
            integrity: IntegrityCheck(store: c.store, vault: c.vault, audit: c.audit, clock: c.clock)
        ).register(on: admin)
        WebhookRoutes(store: c.store, clock: c.clock, audit: c.audit, settings: c.settings, webhookDirectory: c.webhookDirectory).register(on: admin)
        let approvals = ApprovalRoutes(desk: c.approvals, bodyLimit: bodyLimit)
        approvals.register(admin: admin)
        let api = router.group("/v1").add(middleware: callerAuthentication(c, adminOnly: false)).group(context: CallerContext.self)
        AgentRoutes(store: c.store, settings: c.settings, catalog: c.catalog, connections: c.connections, connectFlow: c.connectFlow).register(on: api)
        proxyRoutes(c).register(on: api)
        ToolRoutes(settings: c.settings, tools: c.tools).register(on: api)
        AgentKeyRoutes(narrowing: c.keyNarrowing, clock: c.clock, bodyLimit: c.settings.maxJSONBodyBytes).register(on: api)
        approvals.register(agents: api)
        let mcp = router.group("/mcp").add(middleware: callerAuthentication(c, adminOnly: false)).group(context: AgentContext.self)
        MCPRoutes(sessions: c.mcpSessions).register(on: mcp)
        return router
    }

    /// The application, listening on `host:port`, with the background refresher, the webhook deliverer, the proxy
    /// stats flusher and the replica heartbeat beside it.
    public static func build(_ c: ServerComposition, host: String, port: Int, openAPI: String) -> some ApplicationProtocol {
        let refresher = c.settings.backgroundRefresh
            ? [BackgroundRefresher(store: c.store, broker: c.broker, wakeup: c.refresherWake, clock: c.clock, logger: c.logger) as any Service] : []
        let deliverer = WebhookDeliverer(
            store: c.store, directory: c.webhookDirectory, transport: c.transport, clock: c.clock, wakeup: c.webhookWakeup, logger: c.logger)
        let flusher = ProxyStatsFlusher(
            stats: c.proxyStats, usage: c.usageLedger, store: c.store, interval: .milliseconds(Int(c.settings.proxyStatsFlushInterval * 1000)), clock: c.clock,
            logger: c.logger)
        let changeFeed: [any Service] = changeFeed(c).map { [$0] } ?? []
        return Application(
            responder: responder(c, openAPI: openAPI),
            server: GuardedHTTP1Channel.builder(limits: c.settings.httpLimits),
            configuration: .init(address: .hostname(host, port: port), serverName: "latchkey"),
            services: refresher + changeFeed + [
                deliverer, flusher, ReplicaPresence(coordinator: c.keyring),
                MCPServerSync(
                    directory: c.mcpServers, interval: .milliseconds(Int(c.settings.mcpServerSyncInterval * 1000)), clock: c.clock,
                    logger: c.logger),
            ],
            logger: c.logger)
    }
}

extension LatchkeyApplication {
    /// The service that tells the hot path's caches what changed in the store, when the store keeps a change log.
    public static func changeFeed(_ c: ServerComposition) -> StoreChangeFeed? {
        guard let follower = c.changeFollower, let log = c.store as? any StoreChangeLog else { return nil }
        return StoreChangeFeed(
            follower: follower, log: log, interval: .milliseconds(Int(c.settings.changeLogInterval * 1000)), clock: c.clock, logger: c.logger)
    }

    /// `/admin`: the sign-in pages outside the session check, everything else behind it.
    static func registerDashboard(on router: Router<LatchkeyContext>, _ c: ServerComposition) {
        let sessions = AdminSessions(store: c.store)
        let pages = DashboardPages()
        let signedIn = router.group("/admin").add(middleware: DashboardAuthentication(sessions: sessions, clock: c.clock))
            .group(context: DashboardContext.self)
        SignInRoutes(clock: c.clock, audit: c.audit, settings: c.settings, sessions: sessions, pages: pages, failures: c.authFailures)
            .register(on: router, signedIn: signedIn)
        let integrations = IntegrationPages(
            store: c.store, clock: c.clock, catalog: c.catalog, proxyStats: c.proxyStats, access: c.access, tools: c.tools, choices: c.choices,
            sessions: sessions,
            pages: pages)
        integrations.register(on: signedIn)
        let form = DashboardFormAction(catalog: c.catalog, sessions: sessions, pages: pages, logger: c.logger)
        ApprovalPages(desk: c.approvals, form: form, integrations: integrations).register(on: signedIn)
        AgentPages(store: c.store, grants: c.grants, desk: c.approvals, integrations: integrations).register(on: signedIn)
        OrgPages(store: c.store, catalog: c.catalog, choices: c.choices, usage: c.usageLedger, integrations: integrations, form: form)
            .register(on: signedIn)
        DashboardConnectionActions(form: form, connections: c.connections, connectFlow: c.connectFlow, forcedRefresh: c.forcedRefresh)
            .register(on: signedIn)
        DashboardAppActions(form: form, store: c.store, clock: c.clock, audit: c.audit, apps: c.apps, grants: c.grants).register(on: signedIn)
    }

    static func proxyRoutes(_ c: ServerComposition) -> ProxyRoutes {
        ProxyRoutes(catalog: c.catalog, logger: c.logger, resolver: c.resolver, proxy: c.proxy)
    }

    /// One log line, count and request id per request.
    static func requestLog(_ c: ServerComposition) -> RequestLogMiddleware {
        RequestLogMiddleware(logger: c.logger, metrics: c.metrics)
    }

    /// Bearer-key authentication: the admin key, or (unless `adminOnly`) an agent key.
    static func callerAuthentication(_ c: ServerComposition, adminOnly: Bool) -> CallerAuthentication {
        CallerAuthentication(
            adminKeyHash: c.settings.adminKeyHash, identities: c.store, adminOnly: adminOnly, cache: c.agentKeys, failures: c.authFailures)
    }

    /// The master keyring as agreed with the other replicas sharing `store`: the database's wrapping version is
    /// current (this replica must hold it); on a new database, the highest loaded version, recorded there.
    public static func agreedKeyring(_ loaded: MasterKeyring, store: any KeyringStateStore) async throws -> MasterKeyring {
        try await KeyringCoordinator.agree(on: loaded, store: store, now: Date())
    }

    /// Sets an org's identity provider for people's sign-in, as `PUT /v1/admin/orgs/{org}/sign-in` does (for
    /// configuration files); its discovery document is read at the first sign-in rather than now.
    public static func configureSignIn(
        _ c: ServerComposition, org: OwnerRef, issuer: String, clientID: String, clientSecret: String?
    ) async throws {
        guard URLRules.isAllowed(issuer) else {
            throw LatchkeyError(.invalidRequest, "issuer: '\(issuer.prefix(100))' is not an https URL", field: "issuer")
        }
        try await c.personSignIn.configure(
            org: org, issuer: issuer, clientID: clientID, clientSecret: clientSecret, readDiscovery: false)
    }

    /// Registers or rotates an OAuth app, as `PUT /v1/admin/apps/{provider}` does (for configuration files).
    public static func registerApp(
        _ c: ServerComposition, provider: ProviderID, owner: OwnerRef, clientID: String, clientSecret: String?, scopes: [String]
    ) async throws {
        try await c.apps.put(provider: provider, owner: owner, clientID: clientID, clientSecret: clientSecret, scopes: scopes)
    }
}
