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
    /// Wrong admin keys count against the client's address, as wrong bearer keys do.
    let failures: AuthFailureLimiter

    func register(on router: Router<LatchkeyContext>, signedIn: RouterGroup<DashboardContext>) {
        router.get("/admin/login") { request, _ in
            if let id = request.cookies[DashboardAuthentication.cookieName]?.value, try await sessions.session(id: id, now: clock.now) != nil {
                return Response(status: .seeOther, headers: [.location: "/admin", .cacheControl: "no-store"])
            }
            return pages.render("login", title: "Sign in", [:])
        }
        router.post("/admin/login") { request, context in
            let address = failures.address(of: request.headers, peer: context.peerAddress)
            if let refused = failures.refusal(for: address) { return tooMany(refused) }
            let form = (try? await DashboardForm.read(request)) ?? [:]
            let key = form["admin_key"] ?? ""
            guard !key.isEmpty, SecretHash.constantTimeEquals(SecretHash.sha256Hex(key), settings.adminKeyHash) else {
                await audit.record(AuditEvent(at: clock.now, actor: .browser, action: .adminSignIn, outcome: "failure"))
                let wrong = LatchkeyError(.unauthenticated, "That admin key is not right.")
                let answer = failures.failed(address: address, kind: "admin", otherwise: wrong)
                guard answer.code == .rateLimited else {
                    return pages.render("login", title: "Sign in", ["error": wrong.message], status: .unauthorized)
                }
                return tooMany(answer)
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

    /// The sign-in page with the limit's message, 429 with `Retry-After`.
    func tooMany(_ error: LatchkeyError) -> Response {
        var response = pages.render("login", title: "Sign in", ["error": error.message], status: .tooManyRequests)
        response.headers[.retryAfter] = String(error.retryAfter ?? 1)
        return response
    }

    /// The session cookie: only for `/admin`, never to scripts, never cross-site, and only over https when served so.
    func cookie(_ value: String, maxAge: Int) -> HTTPField {
        SetCookie.field(DashboardAuthentication.cookieName, value, path: "/admin", maxAge: maxAge, sameSite: .strict, secure: settings.isHTTPS)
    }
}
