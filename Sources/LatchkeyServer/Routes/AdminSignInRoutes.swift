import Foundation
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// `/v1/admin`: how people sign in at `/me`: an org's identity provider, or single-use links. Admin key only.
struct AdminSignInRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let personSignIn: PersonSignIn
    let settings: ServerSettings

    func register(on group: RouterGroup<AdminContext>) {
        // A single-use sign-in link for a person, for orgs without an identity provider.
        group.post("/users/:org/:id/sign-in-links") { _, context in
            let user = try OwnerRef(kind: .user, segments: [context.parameters.get("org") ?? "", context.parameters.get("id") ?? ""], field: "user")
            let link = try await personSignIn.createLink(for: user)
            return APIResponse.json(
                JSONValue.object(["url": .string(link.url), "expires_at": .string(ISO8601DateFormatter().string(from: link.expiresAt))]),
                status: .created)
        }
        // The org's OpenID Connect identity provider for people's sign-in at /me.
        group.put("/orgs/:org/sign-in") { request, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            guard try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "\(org) does not exist", field: "org") }
            let body = try await JSONBody.read(request, limit: settings.maxJSONBodyBytes)
            let issuer = try body.string("issuer")
            guard URLRules.isAllowed(issuer) else {
                throw LatchkeyError(.invalidRequest, "issuer: '\(issuer.prefix(100))' is not an https URL", field: "issuer")
            }
            let clientID = try body.string("client_id")
            try await personSignIn.configure(
                org: org, issuer: issuer, clientID: clientID, clientSecret: try body.optionalString("client_secret"))
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .orgSignInConfigured, owner: org, detail: issuer))
            return signInView(org: org.org, issuer: issuer, clientID: clientID)
        }
        group.get("/orgs/:org/sign-in") { _, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            guard let provider = try await store.signInProvider(org: org.org) else {
                throw LatchkeyError(.notFound, "\(org) has no identity provider; people sign in with links", field: "org")
            }
            return signInView(org: provider.org, issuer: provider.issuer, clientID: provider.clientID)
        }
    }

    func signInView(org: String, issuer: String, clientID: String) -> Response {
        APIResponse.json(JSONValue.object([
            "org": .string(org), "issuer": .string(issuer), "client_id": .string(clientID),
            "redirect_uri": .string(settings.publicURL + "/me/oidc/callback"),
        ]))
    }
}
