import Foundation
import Hummingbird
import LatchkeyConnect
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore

/// `/me`: the person console. A signed-in person sees their own connections, connects, reconnects and revokes them.
/// Server-rendered, no script; every form carries the session's CSRF token.
struct PersonConsoleRoutes {
    let web: PersonPages
    let store: any LatchkeyStorage
    let catalog: ProviderCatalog
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let consents: Consents

    func register(on router: Router<LatchkeyContext>) {
        router.get("/me") { request, _ in
            await web.page(nil) {
                guard let (id, session) = try await web.sessions.signedIn(request, now: web.clock.now) else {
                    return web.pages.render("signin", title: "Sign in", ["next": "/me"])
                }
                return try await console(id: id, session: session)
            }
        }
        router.post("/me/connections/:id/revoke") { request, context in
            await web.signedIn(request) { id, session, _ in
                let connection = try await consents.ownConnection(context.parameters.get("id") ?? "", person: session.person)
                guard let stored = try await store.connection(id: connection.id) else { throw LatchkeyError(.notFound, "connection: gone") }
                _ = try await connections.remove(stored, actor: .person(session.person))
                return try await web.done(id, "Your \(connection.provider) connection was revoked.")
            }
        }
        router.post("/me/connections/:id/reconnect") { request, context in
            await web.signedIn(request) { _, session, _ in
                let connection = try await consents.ownConnection(context.parameters.get("id") ?? "", person: session.person)
                let manifest = try catalog.manifest(connection.provider.rawValue)
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: session.person, reconnect: connection.id.rawValue, extraScopes: [], returnTo: nil,
                    caller: .person(session.person))
                return PersonPages.redirect(link.url)
            }
        }
        router.post("/me/connect") { request, _ in
            await web.signedIn(request) { _, session, form in
                let manifest = try catalog.manifest(form["provider"] ?? "")
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: session.person, reconnect: nil, extraScopes: [], returnTo: nil, caller: .person(session.person))
                return PersonPages.redirect(link.url)
            }
        }
    }

    func console(id: String, session: PersonSession) async throws -> Response {
        let person = session.person
        let now = web.clock.now
        let formatter = ISO8601DateFormatter()
        let mine = try await store.connections(owners: [person], provider: nil).filter { $0.state != .revoked }
        var uses: [ConnectionID: (last: Date, agents: [String])] = [:]
        for event in try await store.events(AuditQuery(ownerPrefix: person, action: AuditAction.connectionUsed.rawValue, limit: 500)) {
            guard let c = event.connectionID else { continue }
            var entry = uses[c] ?? (event.at, [])
            if !entry.agents.contains(event.actor.rawValue) { entry.agents.append(event.actor.rawValue) }
            uses[c] = entry
        }
        func name(_ provider: ProviderID) -> String { catalog.manifests[provider]?.name ?? provider.rawValue }
        let rows: [[String: Any]] = mine.map { c in
            [
                "id": c.id.rawValue, "provider": c.provider.rawValue, "provider_name": name(c.provider), "state": c.state.rawValue,
                "account": c.account?.displayName ?? "—", "scopes": c.scopesGranted.joined(separator: " "),
                "last_used": uses[c.id].map { formatter.string(from: $0.last) } ?? "never", "used_by": uses[c.id]?.agents ?? [],
                "can_reconnect": catalog.manifests[c.provider].map { $0.auth != AuthSpec.none } ?? false, "can_revoke": true,
            ]
        }
        let usable = mine.filter { $0.state != .installed }.map {
            ["id": $0.id.rawValue, "provider_name": name($0.provider), "account": $0.account?.displayName ?? "—"]
        }
        let consentRows: [[String: Any]] = try await store.consents(person: person).map { c in
            [
                "connection": c.connectionID.rawValue, "grantee": c.grantee.description,
                "provider_name": mine.first { $0.id == c.connectionID }.map { name($0.provider) } ?? "revoked connection",
                "granted_at": formatter.string(from: c.grantedAt),
                "until": c.expiresAt.map { ($0 > now ? "" : "expired ") + formatter.string(from: $0) } ?? "until withdrawn",
                "live": c.isLive(at: now),
            ]
        }
        let providers = catalog.sorted.filter { $0.auth != .none }.map { ["id": $0.id.rawValue, "name": $0.name] }
        return web.pages.render("console", title: "Your connections", [
            "connections": rows, "consents": consentRows, "usable": usable, "has_usable": !usable.isEmpty, "org": person.org,
            "providers": providers, "has_providers": !providers.isEmpty,
        ], chrome: try await web.chrome(id, session))
    }
}
