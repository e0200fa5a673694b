import Foundation
import Hummingbird
import LatchkeyConnect
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore
import LatchkeyTokens

/// The dashboard's actions on an integration's connections: revoke or refresh one, create a connect link. They go
/// through the same services as the admin API (audited with actor `admin`).
struct DashboardConnectionActions {
    let form: DashboardFormAction
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let forcedRefresh: ForcedRefresh

    func register(on group: RouterGroup<DashboardContext>) {
        group.post("/integrations/:provider/connections/:id/revoke") { request, context in
            try await form.run(request, context) { manifest, _ in
                let removed = try await connections.remove(try await connection(context, of: manifest), actor: .admin)
                return "Connection \(removed.id) is \(removed.state.rawValue)."
            }
        }
        group.post("/integrations/:provider/connections/:id/refresh") { request, context in
            try await form.run(request, context) { manifest, _ in
                let refreshed = try await forcedRefresh.run(try await connection(context, of: manifest))
                return "Connection \(refreshed.id) was refreshed; the token expires at \(DashboardViews.time(refreshed.expiresAt))."
            }
        }
        group.post("/integrations/:provider/connect-link") { request, context in
            try await form.run(request, context) { manifest, fields in
                let owner = try OwnerRef(parsing: DashboardForm.field(fields, "owner") ?? "", field: "owner").refusingPlatform()
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: owner, reconnect: nil, extraScopes: [], returnTo: nil, caller: .admin)
                return "Connect link for \(owner): \(link.url) (expires at \(DashboardViews.time(link.expiresAt)))"
            }
        }
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
