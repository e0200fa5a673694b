import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// `GET/POST /admin/login` and `POST /admin/logout`: the admin key, once, in exchange for a session cookie.
struct SignInRoutes {
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let settings: ServerSettings
    let sessions: AdminSessions
    let pages: DashboardPages

    func register(on router: Router<LatchkeyContext>, signedIn: RouterGroup<DashboardContext>) {
        router.get("/admin/login") { request, _ in
            if let id = request.cookies[DashboardAuthentication.cookieName]?.value, try await sessions.session(id: id, now: clock.now) != nil {
                return Response(status: .seeOther, headers: [.location: "/admin", .cacheControl: "no-store"])
            }
            return pages.render("login", title: "Sign in", [:])
        }
        router.post("/admin/login") { request, _ in
            let form = (try? await DashboardForm.read(request)) ?? [:]
            let key = form["admin_key"] ?? ""
            guard !key.isEmpty, SecretHash.constantTimeEquals(SecretHash.sha256Hex(key), settings.adminKeyHash) else {
                await audit.record(AuditEvent(at: clock.now, actor: .browser, action: .adminSignIn, outcome: "failure"))
                return pages.render("login", title: "Sign in", ["error": "That admin key is not right."], status: .unauthorized)
            }
            let (id, _) = try await sessions.start(now: clock.now)
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .adminSignIn))
            var response = Response(status: .seeOther, headers: [.location: "/admin", .cacheControl: "no-store"])
            response.headers.append(cookie(id, maxAge: Int(sessions.lifetime)))
            return response
        }
        signedIn.post("/logout") { request, context in
            let signIn = context.signIn
            let form = (try? await DashboardForm.read(request)) ?? [:]
            guard DashboardForm.csrfMatches(form, signIn.session) else {
                return pages.problem("Refused", code: "csrf_failed", message: DashboardForm.csrfMessage, status: .forbidden, chrome: nil)
            }
            try await sessions.end(id: signIn.sessionID)
            var response = Response(status: .seeOther, headers: [.location: "/admin/login", .cacheControl: "no-store"])
            response.headers.append(cookie("", maxAge: 0))
            return response
        }
    }

    /// The session cookie: only for `/admin`, never to scripts, never cross-site, and only over https when served so.
    func cookie(_ value: String, maxAge: Int) -> HTTPField {
        SetCookie.field(DashboardAuthentication.cookieName, value, path: "/admin", maxAge: maxAge, sameSite: .strict, secure: settings.isHTTPS)
    }
}
