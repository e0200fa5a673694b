import Foundation
import Hummingbird
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// `/v1/admin/apps`: OAuth app registrations. Admin key only.
struct AdminAppRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let catalog: ProviderCatalog
    let apps: AppDirectory
    let settings: ServerSettings

    func register(on group: RouterGroup<AdminContext>) {
        group.put("/apps/:provider") { request, context in
            let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
            let body = try await JSONBody.read(request, limit: settings.maxJSONBodyBytes)
            let owner = try body.owner(platform: true)
            guard try await store.ownerExists(owner) else { throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner") }
            guard manifest.auth.takesApps else {
                throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) does not use OAuth apps", field: "provider")
            }
            let scopes = try body.stringList("scopes") ?? []
            try await apps.put(
                provider: manifest.id, owner: owner, clientID: try body.string("client_id"),
                clientSecret: try body.optionalString("client_secret"), scopes: scopes)
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .appRegistered, owner: owner, provider: manifest.id))
            return APIResponse.json(JSONValue.object([
                "provider": .string(manifest.id.rawValue), "owner": .string(owner.description),
                "scopes": .array(scopes.map(JSONValue.string)), "redirect_uri": .string(settings.callbackURL),
            ]))
        }
    }
}
