import Foundation
import Hummingbird
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// The dashboard's actions on an integration's tools and app: grant or withdraw a write tool, rotate the app's client
/// secret. They go through the same services as the admin API (audited with actor `admin`).
struct DashboardAppActions {
    let form: DashboardFormAction
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let apps: AppDirectory
    let grants: GrantDirectory

    func register(on group: RouterGroup<DashboardContext>) {
        group.post("/integrations/:provider/grants") { request, context in
            try await form.run(request, context) { manifest, fields in
                let agent = try OwnerRef(parsing: DashboardForm.field(fields, "agent") ?? "", field: "agent").refusingPlatform(field: "agent")
                let tool = DashboardForm.field(fields, "tool") ?? ""
                guard manifest.tools.contains(where: { $0.access == .write && "\(manifest.id).\($0.name)" == tool }) else {
                    throw LatchkeyError(.invalidRequest, "tool: \(tool.prefix(80)) is not a write tool of \(manifest.id)", field: "tool")
                }
                if fields["do"] == "withdraw" {
                    try await grants.withdraw(tool, from: agent, actor: .admin)
                    return "\(agent) may no longer call \(tool)."
                }
                try await grants.grant(tool, to: agent, actor: .admin)
                return "\(agent) may now call \(tool)."
            }
        }
        group.post("/integrations/:provider/rotate-secret") { request, context in
            try await form.run(request, context) { manifest, fields in
                let owner = try OwnerRef(parsing: DashboardForm.field(fields, "owner") ?? "", field: "owner")
                guard let secret = DashboardForm.field(fields, "client_secret") else {
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
}
