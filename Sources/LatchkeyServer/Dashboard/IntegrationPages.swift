import Foundation
import Hummingbird
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore

/// `GET /admin` (the integrations list), `GET /admin/integrations/{provider}` (its three tabs) and
/// `GET /admin/audit` (the audit log with filters).
struct IntegrationPages {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let catalog: ProviderCatalog
    let proxyStats: ProxyStats
    let access: AccessGuard
    /// A remote MCP server's tools, as its server lists them.
    let tools: ToolRunner
    let choices: CredentialChoices
    let sessions: AdminSessions
    let pages: DashboardPages

    func register(on group: RouterGroup<DashboardContext>) {
        group.get("") { request, context in
            try await page(context) { chrome in try await list(query: request.queryValue("q") ?? "", chrome: chrome) }
        }
        group.get("/integrations/:provider") { request, context in
            try await page(context) { chrome in
                try await detail(provider: context.parameters.get("provider") ?? "", tab: request.queryValue("tab") ?? "dashboard", chrome: chrome)
            }
        }
        group.get("/audit") { request, context in
            try await page(context) { chrome in try await audit(request, chrome: chrome) }
        }
    }

    /// Runs a page with the session's chrome (taking its flash); errors become a problem page.
    func page(_ context: DashboardContext, _ body: (DashboardPages.Chrome) async throws -> Response) async throws -> Response {
        let signIn = context.signIn
        let chrome = DashboardPages.Chrome(csrf: signIn.session.csrfToken, flash: try await sessions.takeFlash(id: signIn.sessionID))
        do {
            return try await body(chrome)
        } catch let error as LatchkeyError {
            return pages.problem("Not available", code: error.code.rawValue, message: error.message, status: APIResponse.status(for: error.code), chrome: chrome)
        }
    }

    func list(query: String, chrome: DashboardPages.Chrome) async throws -> Response {
        let needle = query.lowercased().trimmingCharacters(in: .whitespaces)
        let manifests = catalog.sorted.filter {
            needle.isEmpty || $0.id.rawValue.lowercased().contains(needle) || $0.name.lowercased().contains(needle)
        }
        let all = try await store.allConnections(ownerPrefix: nil, provider: nil, state: nil)
        let health = try await RefreshHealth.load(from: store, provider: nil, now: clock.now)
        let proxy = try await proxyStats.totals(now: clock.now)
        var rows: [[String: Any]] = []
        let orgs = try await store.orgNames()
        for m in manifests {
            let apps = try await registeredApps(of: m)
            let credentials = try await orgCredentials(m, orgs: orgs)
            rows.append([
                "orgs": Array(credentials.prefix(Self.orgsListed)), "more": credentials.count > Self.orgsListed ? String(credentials.count - Self.orgsListed) : false,
                "none": m.credentialKind == .none ? "none needed" : "no orgs yet",
                "id": m.id.rawValue, "name": m.name, "mode": m.auth.mode, "setup": DashboardViews.setup(m, apps: apps),
                "counts": DashboardViews.counts(all.filter { $0.provider == m.id }),
                "health": (health.byProvider[m.id] ?? OutcomeCounts()).successSummary(empty: "no refreshes"),
                "proxy": (proxy[m.id] ?? OutcomeCounts()).errorSummary(empty: "no calls"),
            ])
        }
        return pages.render("integrations", title: "Integrations", ["q": query, "providers": rows], chrome: chrome)
    }

    func detail(provider: String, tab: String, chrome: DashboardPages.Chrome) async throws -> Response {
        let m = try catalog.manifest(provider)
        let tab = ["dashboard", "tools", "connections"].contains(tab) ? tab : "dashboard"
        let oauth = m.auth.takesApps
        let writeTools = m.tools.filter { $0.access == .write }.map { "\(m.id).\($0.name)" }
        var values: [String: Any] = [
            "id": m.id.rawValue, "name": m.name, "mode": m.auth.mode, "tab_\(tab)": true, "oauth": oauth,
            "write_tools": writeTools, "has_write_tools": !writeTools.isEmpty,
        ]
        // Only web links: a docs value of another scheme is shown as nothing rather than as a live link.
        if m.docs.hasPrefix("https://") || m.docs.hasPrefix("http://") { values["docs"] = m.docs }
        let connections = try await store.allConnections(ownerPrefix: nil, provider: m.id, state: nil)
        switch tab {
        case "tools" where m.kind == .mcp:
            values["tools"] = await tools.remoteTools(of: m, among: connections).map(DashboardViews.tool)
        case "tools":
            values["tools"] = m.tools.map(DashboardViews.tool)
        case "connections":
            values["connections"] = connections.map { DashboardViews.connection($0, oauth: oauth) }
        default:
            let now = clock.now
            let health = try await RefreshHealth.load(from: store, provider: m.id, now: now)
            let apps = try await registeredApps(of: m)
            values["counts"] = DashboardViews.counts(connections)
            values["health"] = (health.byProvider[m.id] ?? OutcomeCounts()).successSummary(empty: "no refreshes")
            values["chart"] = HourlyChart(hours: health.hourly).svg
            let proxy = try await proxyStats.hourly(m.id, now: now)
            values["proxy"] = proxy.reduce(into: OutcomeCounts()) { $0.add($1) }.errorSummary(empty: "no calls")
            values["proxy_chart"] = HourlyChart(hours: proxy, id: "proxy-chart", label: "Proxied calls (green) and errors (red)").svg
            values["setup"] = DashboardViews.setup(m, apps: apps)
            values["apps"] = apps.map { app -> [String: Any] in ["owner": app.owner.description, "client_id": app.clientID, "updated_at": DashboardViews.time(app.updatedAt)] }
            values["orgs"] = try await orgCredentials(m, orgs: try await store.orgNames())
            values["none"] = m.credentialKind == .none ? "No credentials needed." : "No orgs yet."
            values["linked"] = try await linkedAgents(m.id, connections).map { ["ref": $0.description, "path": $0.path] }
            values["events"] = try await store.events(AuditQuery(provider: m.id, limit: 20)).map(DashboardViews.event)
        }
        return pages.render("integration", title: m.name, values, chrome: chrome)
    }

    /// The agents that can reach `provider` now: each agent with a live connection on its chain (its own, its
    /// project's, team's or org's) whose org leaves read tools or the proxy open, or that holds a live grant of the
    /// provider. A person's connection reaches an agent only with that person's consent, so it links nobody here.
    func linkedAgents(_ provider: ProviderID, _ connections: [Connection]) async throws -> [OwnerRef] {
        let owners = Set(connections.filter { $0.state != .revoked && $0.owner.kind != .user }.map(\.owner))
        var linked: [OwnerRef] = []
        for org in Set(owners.map(\.org)).sorted() {
            for agent in try await store.owners(kind: .agent, org: org) where owners.contains(where: { $0.encloses(agent) }) {
                let standing = try await access.standing(of: agent)
                let open = standing.policy.readTools == .open || standing.policy.proxy == .open
                if open || standing.grants.grants.contains(where: { $0.capability.provider == provider && $0.isLive(at: standing.now) }) {
                    linked.append(agent)
                }
            }
        }
        return linked.sorted { $0.description < $1.description }
    }

    /// Orgs shown per provider in the integrations list; the integration's tab shows them all.
    static let orgsListed = 5

    /// What each org uses for `m`: `managed by the platform`, `own app` or `own key`; none for a provider that needs
    /// no credential.
    func orgCredentials(_ m: ProviderManifest, orgs: [String]) async throws -> [[String: Any]] {
        let kind = m.credentialKind
        guard kind != .none else { return [] }
        return try await choices.resolutions(orgs: orgs, provider: m.id, kind: kind).map {
            ["org": $0.org, "label": OrgPages.label($0.credentials, kind: kind), "chosen": $0.chosen != nil]
        }
    }

    /// The OAuth apps of `m` at any owner; none for providers that need no app.
    func registeredApps(of m: ProviderManifest) async throws -> [AppRegistration] {
        guard m.auth.takesApps else { return [] }
        return try await store.apps(provider: m.id)
    }

    func audit(_ request: Request, chrome: DashboardPages.Chrome) async throws -> Response {
        func value(_ name: String) -> String? {
            guard let v = request.queryValue(name)?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        var query = AuditQuery(limit: 200)
        query.ownerPrefix = try value("owner").map { raw throws(LatchkeyError) in try OwnerRef(parsing: raw, field: "owner") }
        query.action = try AuditQueryParameters.token(value("action"), field: "action")
        query.provider = try AuditQueryParameters.token(value("provider"), field: "provider").map { ProviderID($0) }
        if let outcome = value("outcome") {
            guard outcome == "success" || outcome == "failure" else {
                throw LatchkeyError(.invalidRequest, "outcome: expected success or failure", field: "outcome")
            }
            query.outcome = outcome
        }
        let events = try await store.events(query)
        return pages.render("audit", title: "Audit log", [
            "owner": value("owner") ?? "", "action": value("action") ?? "", "provider": value("provider") ?? "",
            "success": query.outcome == "success", "failure": query.outcome == "failure", "limit": query.limit,
            "events": events.map(DashboardViews.event),
        ], chrome: chrome)
    }
}
