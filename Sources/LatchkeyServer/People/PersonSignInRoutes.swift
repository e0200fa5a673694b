import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore

/// `/me` sign-in and sign-out: OpenID Connect against the org's identity provider, or an admin's single-use link.
struct PersonSignInRoutes {
    let web: PersonPages
    let personSignIn: PersonSignIn
    let audit: AuditTrail
    let settings: ServerSettings

    func register(on router: Router<LatchkeyContext>) {
        router.get("/me/login") { request, _ in
            await web.page(nil) {
                let next = Self.safeNext(request.queryValue("next"))
                guard let org = request.queryValue("org")?.trimmingCharacters(in: .whitespaces).lowercased(), !org.isEmpty else {
                    return web.pages.render("signin", title: "Sign in", ["next": next])
                }
                do {
                    let redirect = try await personSignIn.begin(org: org, next: next)
                    var response = PersonPages.redirect(redirect.location)
                    response.headers.append(
                        SetCookie.flowBinding(
                            redirect, callbackPath: "/me/oidc/callback", maxAge: settings.authorizationStateTTL, secure: settings.isHTTPS))
                    return response
                } catch let error as LatchkeyError where error.code == .appNotConfigured {
                    return web.pages.render("signin", title: "Sign in", ["org": org, "next": next, "error": error.message], status: .conflict)
                }
            }
        }
        router.get("/me/oidc/callback") { request, _ in
            await web.page(nil) {
                let cookies = request.cookies
                let (person, next) = try await personSignIn.complete(
                    state: request.queryValue("state"), code: request.queryValue("code"), error: request.queryValue("error"),
                    cookie: { cookies[$0]?.value })
                return try await startSession(person, next: next, how: "openid")
            }
        }
        router.get("/me/sign-in/:token") { _, context in
            // A page with a button rather than a sign-in on GET: link scanners and previews must not use the link up.
            web.pages.render("signin_link", title: "Sign in", ["token": context.parameters.get("token") ?? ""])
        }
        router.post("/me/sign-in/:token") { request, context in
            await web.page(nil) {
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
            await web.signedIn(request) { id, session, _ in
                try await web.sessions.end(id: id)
                await audit.record(AuditEvent(at: web.clock.now, actor: .owner(session.person), action: .personSignedOut, owner: session.person))
                var response = PersonPages.redirect("/me")
                response.headers.append(PersonSessions.cookie("", maxAge: 0, secure: settings.isHTTPS))
                return response
            }
        }
    }

    /// Starts a session and goes on to `next`. After OpenID Connect, the browser arrived from the identity provider
    /// (a cross-site navigation), so the `SameSite=Strict` cookie would not go with a redirect: a page of Latchkey's
    /// own continues instead, from the same site.
    func startSession(_ person: OwnerRef, next: String, how: String) async throws -> Response {
        let (id, _) = try await web.sessions.start(person: person, now: web.clock.now)
        await audit.record(AuditEvent(at: web.clock.now, actor: .owner(person), action: .personSignedIn, owner: person, detail: how))
        var response = how == "openid"
            ? web.pages.render("signed_in", title: "Signed in", ["next": next, "who": person.description]) : PersonPages.redirect(next)
        response.headers.append(PersonSessions.cookie(id, maxAge: Int(web.sessions.lifetime), secure: settings.isHTTPS))
        return response
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
}
