import Foundation
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyStore

/// `/me/consent` and `/me/consents`: a person decides which agents (or projects) may use which of their connections,
/// for how long, and withdraws that later. Only the connection's own person decides.
struct PersonConsentRoutes {
    let web: PersonPages
    let store: any LatchkeyStorage
    let catalog: ProviderCatalog
    let consents: Consents
    let audit: AuditTrail

    func register(on router: Router<LatchkeyContext>) {
        router.post("/me/consents") { request, _ in
            await web.signedIn(request) { id, session, form in
                let connection = try await consents.ownConnection(form["connection"] ?? "", person: session.person)
                let grantee = try await consents.checkGrantee(form["grantee"] ?? "", person: session.person)
                try await consents.grant(person: session.person, connection: connection, grantee: grantee, expiresAt: try expiry(form))
                return try await web.done(id, "\(grantee) may now use your \(connection.provider) connection.")
            }
        }
        router.post("/me/consents/withdraw") { request, _ in
            await web.signedIn(request) { id, session, form in
                let grantee = try OwnerRef(parsing: form["grantee"] ?? "", field: "grantee").refusingPlatform(field: "grantee")
                try await consents.withdraw(person: session.person, connection: ConnectionID(rawValue: form["connection"] ?? ""), grantee: grantee)
                return try await web.done(id, "\(grantee) may no longer use that connection.")
            }
        }
        router.get("/me/consent") { request, _ in
            await web.page(nil) {
                let agent = try OwnerRef(parsing: request.queryValue("agent") ?? "", field: "agent")
                guard agent.kind == .agent else { throw LatchkeyError(.invalidRequest, "agent: must be an agent", field: "agent") }
                guard let (id, session) = try await web.sessions.signedIn(request, now: web.clock.now) else {
                    let next = "/me/consent?" + FormEncoding.encode([("agent", agent.description), ("connection", request.queryValue("connection") ?? "")])
                    return PersonPages.redirect("/me/login?" + FormEncoding.encode([("org", agent.org), ("next", next)]))
                }
                let connection = try await requestedConnection(request.queryValue("connection"), session: session)
                let manifest = try catalog.manifest(connection.provider.rawValue)
                return web.pages.render("consent", title: "Allow an agent", [
                    "agent": agent.description, "project": agent.parent?.description ?? "", "connection": connection.id.rawValue,
                    "provider_name": manifest.name, "account": connection.account?.displayName ?? "your account",
                    "scopes": connection.scopesGranted.joined(separator: " "),
                ], chrome: try await web.chrome(id, session))
            }
        }
        router.post("/me/consent") { request, _ in
            await web.signedIn(request) { id, session, form in
                let connection = try await requestedConnection(form["connection"], session: session)
                let grantee = try await consents.checkGrantee(form["grantee"] ?? form["agent"] ?? "", person: session.person)
                if form["decision"] == "approve" {
                    try await consents.grant(person: session.person, connection: connection, grantee: grantee, expiresAt: try expiry(form))
                    return try await web.done(id, "\(grantee) may now use your \(connection.provider) connection.")
                }
                await consents.decline(person: session.person, connection: connection, grantee: grantee)
                return try await web.done(id, "You declined: \(grantee) may not use your \(connection.provider) connection.")
            }
        }
    }

    /// The connection a consent request names: the signed-in person's own, else 403 `wrong_person`.
    func requestedConnection(_ raw: String?, session: PersonSession) async throws -> Connection {
        guard let raw, let stored = try await store.connection(id: ConnectionID(rawValue: raw)), stored.connection.state != .revoked else {
            throw LatchkeyError(.notFound, "connection: no connection '\((raw ?? "").prefix(64))'", field: "connection")
        }
        guard stored.connection.owner == session.person else {
            await audit.record(AuditEvent(
                at: web.clock.now, actor: .owner(session.person), action: .consentWrongPerson, owner: stored.connection.owner,
                provider: stored.connection.provider, connectionID: stored.connection.id, outcome: "failure"))
            throw LatchkeyError(.wrongPerson, "this connection is not yours: sign in as its owner to decide", field: "connection")
        }
        return stored.connection
    }

    /// `hours` from a form: empty for "until withdrawn", else a whole number of hours up to a year.
    func expiry(_ form: [String: String]) throws -> Date? {
        guard let raw = DashboardForm.field(form, "hours") else { return nil }
        guard let hours = Int(raw), hours > 0, hours <= 24 * 366 else {
            throw LatchkeyError(.invalidRequest, "hours: '\(raw.prefix(10))' is not a number of hours between 1 and 8784", field: "hours")
        }
        return web.clock.now.addingTimeInterval(TimeInterval(hours) * 3600)
    }
}
