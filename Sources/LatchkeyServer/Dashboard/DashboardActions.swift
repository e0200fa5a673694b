import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens
import Logging

/// The dashboard's actions on one integration: revoke or refresh a connection, create a connect link, grant or
/// withdraw a write tool, rotate the app's client secret. Each checks the CSRF token before anything else, goes
/// through the same services as the admin API (audited with actor `admin`), and redirects back with a message.
struct DashboardActions {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let catalog: ProviderCatalog
    let logger: Logger
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let apps: AppDirectory
    let grants: GrantDirectory
    let forcedRefresh: ForcedRefresh
    let sessions: AdminSessions
    let pages: DashboardPages

    func register(on group: RouterGroup<DashboardContext>) {
        group.post("/integrations/:provider/connections/:id/revoke") { request, context in
            try await act(request, context) { manifest, _ in
                let service = connections
                let stored = try await connection(context, of: manifest)
                let removed = try await service.remove(stored, actor: .admin)
                return "Connection \(removed.id) is \(removed.state.rawValue)."
            }
        }
        group.post("/integrations/:provider/connections/:id/refresh") { request, context in
            try await act(request, context) { manifest, _ in
                let refreshed = try await forcedRefresh.run(try await connection(context, of: manifest))
                return "Connection \(refreshed.id) was refreshed; the token expires at \(DashboardViews.time(refreshed.expiresAt))."
            }
        }
        group.post("/integrations/:provider/connect-link") { request, context in
            try await act(request, context) { manifest, form in
                let owner = try OwnerRef(parsing: DashboardForm.field(form, "owner") ?? "", field: "owner")
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: owner, reconnect: nil, extraScopes: [], returnTo: nil, caller: .admin)
                return "Connect link for \(owner): \(link.url) (expires at \(DashboardViews.time(link.expiresAt)))"
            }
        }
        group.post("/integrations/:provider/grants") { request, context in
            try await act(request, context) { manifest, form in
                let agent = try OwnerRef(parsing: DashboardForm.field(form, "agent") ?? "", field: "agent")
                let tool = DashboardForm.field(form, "tool") ?? ""
                guard manifest.tools.contains(where: { $0.access == .write && "\(manifest.id).\($0.name)" == tool }) else {
                    throw LatchkeyError(.invalidRequest, "tool: \(tool.prefix(80)) is not a write tool of \(manifest.id)", field: "tool")
                }
                let grants = grants
                if form["do"] == "withdraw" {
                    try await grants.withdraw(tool, from: agent, actor: .admin)
                    return "\(agent) may no longer call \(tool)."
                }
                try await grants.grant(tool, to: agent, actor: .admin)
                return "\(agent) may now call \(tool)."
            }
        }
        group.post("/integrations/:provider/rotate-secret") { request, context in
            try await act(request, context) { manifest, form in
                let owner = try OwnerRef(parsing: DashboardForm.field(form, "owner") ?? "", field: "owner")
                guard let secret = DashboardForm.field(form, "client_secret") else {
                    throw LatchkeyError(.invalidRequest, "client_secret: required", field: "client_secret")
                }
                guard let app = try await store.apps(provider: manifest.id, owners: [owner]).first else {
                    throw LatchkeyError(.notFound, "owner: no \(manifest.id) app is registered at \(owner)", field: "owner")
                }
                try await apps.put(
                    provider: manifest.id, owner: owner, clientID: app.clientID, clientSecret: secret, scopes: app.scopes)
                await audit.record(AuditEvent(
                    at: clock.now, actor: .admin, action: .appSecretRotated, owner: owner, provider: manifest.id))
                return "The client secret of the \(manifest.name) app at \(owner) was rotated."
            }
        }
    }

    /// Checks the CSRF token, runs `body`, leaves its message (or its error) for the next page, and redirects to
    /// the integration's connections tab. A missing or wrong token is refused with 403 before anything changes.
    func act(
        _ request: Request, _ context: DashboardContext,
        _ body: (ProviderManifest, [String: String]) async throws -> String
    ) async throws -> Response {
        let signIn = context.signIn
        let form = try await DashboardForm.read(request)
        guard DashboardForm.csrfMatches(form, signIn.session) else {
            logger.info("dashboard form refused", metadata: ["reason": "csrf"])
            return pages.problem(
                "Refused", code: "csrf_failed", message: DashboardForm.csrfMessage, status: .forbidden,
                chrome: DashboardPages.Chrome(csrf: signIn.session.csrfToken))
        }
        let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
        do {
            let message = try await body(manifest, form)
            try await sessions.setFlash(id: signIn.sessionID, AdminSession.Flash(message: message, isError: false))
        } catch let error as LatchkeyError {
            try await sessions.setFlash(id: signIn.sessionID, AdminSession.Flash(message: error.message, isError: true))
        }
        let back = "/admin/integrations/\(manifest.id.rawValue)?tab=connections"
        return Response(status: .seeOther, headers: [.location: back, .cacheControl: "no-store"])
    }

    /// The connection in the path, which must belong to `manifest`'s provider.
    func connection(_ context: DashboardContext, of manifest: ProviderManifest) async throws -> StoredConnection {
        let stored = try await connections.visibleConnection(context.parameters.get("id") ?? "", caller: .admin)
        guard stored.connection.provider == manifest.id else {
            throw LatchkeyError(.notFound, "no \(manifest.id) connection '\(stored.connection.id)'", field: "id")
        }
        return stored
    }
}
