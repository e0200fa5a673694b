import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyConnect
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// `/me`: the person console. A person signs in (OpenID Connect or an admin's sign-in link), sees their own
/// connections, connects, reconnects and revokes them, and decides which agents may use which of them.
/// Server-rendered, no script; every form carries the session's CSRF token.
struct PersonRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let settings: ServerSettings
    let catalog: ProviderCatalog
    let logger: Logger
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let consents: Consents
    let personSignIn: PersonSignIn
    let sessions: PersonSessions
    let pages: DashboardPages

    func register(on router: Router<LatchkeyContext>) {
        router.get("/me") { request, _ in
            await page(nil) {
                guard let (id, session) = try await sessions.signedIn(request, now: clock.now) else {
                    return pages.render("signin", title: "Sign in", ["next": "/me"])
                }
                return try await console(id: id, session: session)
            }
        }
        router.get("/me/login") { request, _ in
            await page(nil) {
                let next = Self.safeNext(request.queryValue("next"))
                guard let org = request.queryValue("org")?.trimmingCharacters(in: .whitespaces).lowercased(), !org.isEmpty else {
                    return pages.render("signin", title: "Sign in", ["next": next])
                }
                do {
                    let redirect = try await personSignIn.begin(org: org, next: next)
                    var response = Self.redirect(redirect.location)
                    var cookie = "\(redirect.bindingCookieName)=\(redirect.bindingNonce); Path=/me/oidc/callback; Max-Age=\(Int(settings.authorizationStateTTL)); HttpOnly; SameSite=Lax"
                    if settings.isHTTPS { cookie += "; Secure" }
                    response.headers.append(HTTPField(name: .setCookie, value: cookie))
                    return response
                } catch let error as LatchkeyError where error.code == .appNotConfigured {
                    return pages.render("signin", title: "Sign in", ["org": org, "next": next, "error": error.message], status: .conflict)
                }
            }
        }
        router.get("/me/oidc/callback") { request, _ in
            await page(nil) {
                let cookies = request.cookies
                let (person, next) = try await personSignIn.complete(
                    state: request.queryValue("state"), code: request.queryValue("code"), error: request.queryValue("error"),
                    cookie: { cookies[$0]?.value })
                return try await startSession(person, next: next, how: "openid")
            }
        }
        router.get("/me/sign-in/:token") { _, context in
            // A page with a button rather than a sign-in on GET: link scanners and previews must not use the link up.
            pages.render("signin_link", title: "Sign in", ["token": context.parameters.get("token") ?? ""])
        }
        router.post("/me/sign-in/:token") { request, context in
            await page(nil) {
                // Login CSRF: another site's form must not sign a visitor in as someone else (whose connections the
                // visitor would then fill). Only Latchkey's own page may use a link; nothing is spent otherwise.
                guard fromOwnPage(request) else {
                    throw LatchkeyError(.forbidden, "a sign-in link is used from its own page; open the link itself")
                }
                let person = try await personSignIn.redeem(token: context.parameters.get("token") ?? "")
                return try await startSession(person, next: "/me", how: "link")
            }
        }
        router.post("/me/logout") { request, _ in
            await signedIn(request) { id, session, _ in
                try await sessions.end(id: id)
                await audit.record(AuditEvent(at: clock.now, actor: .owner(session.person), action: .personSignedOut, owner: session.person))
                var response = Self.redirect("/me")
                response.headers.append(HTTPField(name: .setCookie, value: PersonSessions.cookie("", maxAge: 0, secure: settings.isHTTPS)))
                return response
            }
        }
        router.post("/me/connections/:id/revoke") { request, context in
            await signedIn(request) { id, session, _ in
                let connection = try await consents.ownConnection(context.parameters.get("id") ?? "", person: session.person)
                guard let stored = try await store.connection(id: connection.id) else { throw LatchkeyError(.notFound, "connection: gone") }
                _ = try await connections.remove(stored, actor: .person(session.person))
                return try await done(id, "Your \(connection.provider) connection was revoked.")
            }
        }
        router.post("/me/connections/:id/reconnect") { request, context in
            await signedIn(request) { _, session, _ in
                let connection = try await consents.ownConnection(context.parameters.get("id") ?? "", person: session.person)
                let manifest = try catalog.manifest(connection.provider.rawValue)
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: session.person, reconnect: connection.id.rawValue, extraScopes: [], returnTo: nil,
                    caller: .person(session.person))
                return Self.redirect(link.url)
            }
        }
        router.post("/me/connect") { request, _ in
            await signedIn(request) { _, session, form in
                let manifest = try catalog.manifest(form["provider"] ?? "")
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: session.person, reconnect: nil, extraScopes: [], returnTo: nil, caller: .person(session.person))
                return Self.redirect(link.url)
            }
        }
        router.post("/me/consents") { request, _ in
            await signedIn(request) { id, session, form in
                let connection = try await consents.ownConnection(form["connection"] ?? "", person: session.person)
                let grantee = try await consents.checkGrantee(form["grantee"] ?? "", person: session.person)
                try await consents.grant(person: session.person, connection: connection, grantee: grantee, expiresAt: try expiry(form))
                return try await done(id, "\(grantee) may now use your \(connection.provider) connection.")
            }
        }
        router.post("/me/consents/withdraw") { request, _ in
            await signedIn(request) { id, session, form in
                let grantee = try OwnerRef(parsing: form["grantee"] ?? "", field: "grantee")
                try await consents.withdraw(person: session.person, connection: ConnectionID(rawValue: form["connection"] ?? ""), grantee: grantee)
                return try await done(id, "\(grantee) may no longer use that connection.")
            }
        }
        router.get("/me/consent") { request, _ in
            await page(nil) {
                let agent = try OwnerRef(parsing: request.queryValue("agent") ?? "", field: "agent")
                guard agent.kind == .agent else { throw LatchkeyError(.invalidRequest, "agent: must be an agent", field: "agent") }
                guard let (id, session) = try await sessions.signedIn(request, now: clock.now) else {
                    let next = "/me/consent?" + FormEncoding.encode([("agent", agent.description), ("connection", request.queryValue("connection") ?? "")])
                    return Self.redirect("/me/login?" + FormEncoding.encode([("org", agent.org), ("next", next)]))
                }
                let connection = try await requestedConnection(request.queryValue("connection"), session: session)
                let manifest = try catalog.manifest(connection.provider.rawValue)
                return pages.render("consent", title: "Allow an agent", [
                    "agent": agent.description, "project": agent.parent?.description ?? "", "connection": connection.id.rawValue,
                    "provider_name": manifest.name, "account": connection.account?.displayName ?? "your account",
                    "scopes": connection.scopesGranted.joined(separator: " "),
                ], chrome: try await chrome(id, session))
            }
        }
        router.post("/me/consent") { request, _ in
            await signedIn(request) { id, session, form in
                let connection = try await requestedConnection(form["connection"], session: session)
                let grantee = try await consents.checkGrantee(form["grantee"] ?? form["agent"] ?? "", person: session.person)
                if form["decision"] == "approve" {
                    try await consents.grant(person: session.person, connection: connection, grantee: grantee, expiresAt: try expiry(form))
                    return try await done(id, "\(grantee) may now use your \(connection.provider) connection.")
                }
                await consents.decline(person: session.person, connection: connection, grantee: grantee)
                return try await done(id, "You declined: \(grantee) may not use your \(connection.provider) connection.")
            }
        }
    }

    // MARK: pages

    func console(id: String, session: PersonSession) async throws -> Response {
        let person = session.person
        let now = clock.now
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
        return pages.render("console", title: "Your connections", [
            "connections": rows, "consents": consentRows, "usable": usable, "has_usable": !usable.isEmpty, "org": person.org,
            "providers": providers, "has_providers": !providers.isEmpty,
        ], chrome: try await chrome(id, session))
    }

    func chrome(_ id: String, _ session: PersonSession) async throws -> DashboardPages.Chrome {
        DashboardPages.Chrome(csrf: session.csrfToken, flash: try await sessions.takeFlash(id: id), who: session.person.description)
    }

    /// The connection a consent request names: the signed-in person's own, else 403 `wrong_person`.
    func requestedConnection(_ raw: String?, session: PersonSession) async throws -> Connection {
        guard let raw, let stored = try await store.connection(id: ConnectionID(rawValue: raw)), stored.connection.state != .revoked else {
            throw LatchkeyError(.notFound, "connection: no connection '\((raw ?? "").prefix(64))'", field: "connection")
        }
        guard stored.connection.owner == session.person else {
            await audit.record(AuditEvent(
                at: clock.now, actor: .owner(session.person), action: .consentWrongPerson, owner: stored.connection.owner,
                provider: stored.connection.provider, connectionID: stored.connection.id, outcome: "failure"))
            throw LatchkeyError(.wrongPerson, "this connection is not yours: sign in as its owner to decide", field: "connection")
        }
        return stored.connection
    }

    /// Starts a session and goes on to `next`. After OpenID Connect, the browser arrived from the identity provider
    /// (a cross-site navigation), so the `SameSite=Strict` cookie would not go with a redirect: a page of Latchkey's
    /// own continues instead, from the same site.
    func startSession(_ person: OwnerRef, next: String, how: String) async throws -> Response {
        let (id, _) = try await sessions.start(person: person, now: clock.now)
        await audit.record(AuditEvent(at: clock.now, actor: .owner(person), action: .personSignedIn, owner: person, detail: how))
        var response = how == "openid"
            ? pages.render("signed_in", title: "Signed in", ["next": next, "who": person.description]) : Self.redirect(next)
        response.headers.append(HTTPField(name: .setCookie, value: PersonSessions.cookie(id, maxAge: Int(sessions.lifetime), secure: settings.isHTTPS)))
        return response
    }

    /// POST/redirect/GET: the message shows once on the console.
    func done(_ id: String, _ message: String) async throws -> Response {
        try await sessions.setFlash(id: id, AdminSession.Flash(message: message, isError: false))
        return Self.redirect("/me")
    }

    /// `hours` from a form: empty for "until withdrawn", else a whole number of hours up to a year.
    func expiry(_ form: [String: String]) throws -> Date? {
        guard let raw = DashboardForm.field(form, "hours") else { return nil }
        guard let hours = Int(raw), hours > 0, hours <= 24 * 366 else {
            throw LatchkeyError(.invalidRequest, "hours: '\(raw.prefix(10))' is not a number of hours between 1 and 8784", field: "hours")
        }
        return clock.now.addingTimeInterval(TimeInterval(hours) * 3600)
    }

    /// Runs a form action of a signed-in person: no session goes to sign-in; a wrong CSRF token is refused.
    func signedIn(
        _ request: Request, _ body: (String, PersonSession, [String: String]) async throws -> Response
    ) async -> Response {
        await page(nil) {
            guard let (id, session) = try await sessions.signedIn(request, now: clock.now) else { return Self.redirect("/me") }
            let form = try await DashboardForm.read(request)
            guard PersonSessions.csrfMatches(form, session) else {
                return pages.problem("Refused", code: "csrf_failed", message: DashboardForm.csrfMessage, status: .forbidden, chrome: nil)
            }
            do { return try await body(id, session, form) } catch let error as LatchkeyError {
                return pages.problem("Not done", code: error.code.rawValue, message: error.message, status: APIResponse.status(for: error.code),
                    chrome: try await chrome(id, session))
            }
        }
    }

    /// Runs a page handler, rendering any error as a problem page with its status and stable code.
    func page(_ chrome: DashboardPages.Chrome?, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch let error as LatchkeyError {
            logger.info("person page error", metadata: ["code": "\(error.code)"])
            return pages.problem("Not done", code: error.code.rawValue, message: error.message, status: APIResponse.status(for: error.code), chrome: chrome)
        } catch {
            logger.error("person page failure", metadata: ["type": "\(type(of: error))"])
            return pages.problem("Not done", code: "internal_error", message: "Something went wrong on our side.", status: .internalServerError, chrome: chrome)
        }
    }

    /// Whether a form was posted from one of Latchkey's own pages: browsers send `Sec-Fetch-Site` with a POST, and
    /// another site's form says `cross-site`. `Origin` is checked too when it names one (Latchkey's pages send no
    /// referrer, so their own POSTs carry `Origin: null`). A client that sends neither is no browser on another site.
    func fromOwnPage(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return false }
        if let origin = request.headers[.origin]?.lowercased(), origin != "null", origin != Origin.of(settings.publicURL) {
            return false
        }
        return true
    }

    /// A local path to go to after signing in: only Latchkey's own person and connect pages, never another origin.
    static func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/me") || raw.hasPrefix("/connect/"), !raw.hasPrefix("//"),
            !raw.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\\") })
        else { return "/me" }
        return raw
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
