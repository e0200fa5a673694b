import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// The browser side: the connect page, the start of the OAuth redirect, the API-key form and the callback.
/// Plain links, forms and redirects only: no popup, no script, so it works from a chat message on a phone.
struct ConnectRoutes {
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let settings: ServerSettings
    let catalog: ProviderCatalog
    let logger: Logger
    let connectFlow: ConnectFlow
    let pages: Pages
    let personSessions: PersonSessions

    func register(on router: Router<LatchkeyContext>) {
        router.get("/connect/:token") { request, context in
            await page {
                let token = context.parameters.get("token") ?? ""
                let session = try await connectFlow.liveSession(token: token)
                if let signIn = try await requirePerson(session, request, token: token, mayRedirect: true) { return signIn }
                return try await connectPage(session: session, token: token)
            }
        }
        router.post("/connect/:token/start") { request, context in
            await page {
                let (session, form) = try await postedForm(request, context)
                let redirect = try await connectFlow.begin(session: session, config: form)
                var response = Response(status: .seeOther, headers: [.location: redirect.location, .cacheControl: "no-store"])
                response.headers.append(
                    SetCookie.flowBinding(redirect, callbackPath: "/oauth/callback", maxAge: settings.authorizationStateTTL, secure: settings.isHTTPS))
                return response
            }
        }
        router.post("/connect/:token/key") { request, context in
            await page {
                let (session, form) = try await postedForm(request, context)
                return finish(try await connectFlow.submitKey(session: session, form: form))
            }
        }
        router.get("/oauth/callback") { request, _ in
            await page {
                let cookies = request.cookies
                let outcome = try await connectFlow.complete(ConnectFlow.CallbackParameters(
                    state: request.queryValue("state"), code: request.queryValue("code"), error: request.queryValue("error"),
                    errorDescription: request.queryValue("error_description"), issuer: request.queryValue("iss"),
                    cookie: { cookies[$0]?.value }))
                return finish(outcome)
            }
        }
    }

    /// Runs a page handler, rendering any error as an error page with its status.
    func page(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as LatchkeyError {
            logger.info("connect page error", metadata: ["code": "\(error.code)"])
            return pages.error(error.code.rawValue, error.message, status: APIResponse.status(for: error.code))
        } catch {
            logger.error("connect page failure", metadata: ["type": "\(type(of: error))"])
            return pages.error("internal_error", "Something went wrong on our side.", status: .internalServerError)
        }
    }

    /// A link for a person (a `user:` owner) completes only for that person, signed in at `/me`. With nobody signed in,
    /// the page sends the browser to sign in and back (`mayRedirect`), and a form is refused; anyone else gets 403
    /// `wrong_person`, audited, and nothing is stored. The OAuth callback needs no check of its own: its state is bound
    /// to the browser that passed this check at the start.
    func requirePerson(_ session: ConnectSession, _ request: Request, token: String, mayRedirect: Bool) async throws -> Response? {
        guard session.owner.kind == .user else { return nil }
        let signedIn = try await personSessions.signedIn(request, now: clock.now)?.session.person
        if signedIn == session.owner { return nil }
        if signedIn == nil, mayRedirect {
            let query = FormEncoding.encode([("org", session.owner.org), ("next", "/connect/" + token)])
            return Response(status: .seeOther, headers: [.location: "/me/login?" + query, .cacheControl: "no-store"])
        }
        await audit.record(AuditEvent(
            at: clock.now, actor: signedIn.map { AuditActor.owner($0) } ?? .browser, action: .connectWrongPerson, owner: session.owner,
            provider: session.provider, connectionID: session.connectionID, outcome: "failure"))
        throw LatchkeyError(
            .wrongPerson,
            signedIn.map { "this link is for \(session.owner), and you are signed in as \($0)" }
                ?? "this link is for \(session.owner): sign in at /me as that person first")
    }

    func connectPage(session: ConnectSession, token: String) async throws -> Response {
        let manifest = try catalog.manifest(session.provider.rawValue)
        var values: [String: Any] = [
            "provider_name": manifest.name, "owner": session.owner.description, "token": token,
            "expires_at": ISO8601DateFormatter().string(from: session.expiresAt),
            "config": manifest.connectionConfig.map { ["name": $0.name, "label": $0.label, "default": $0.defaultValue ?? ""] },
        ]
        if let account = try await connectFlow.expectedAccount(session) { values["expected_account"] = account.displayName }
        switch manifest.auth {
        case .oauth2, .remoteMCP:
            let scopes = try await connectFlow.pageScopes(for: session)
            values["oauth"] = true
            values["scopes"] = scopes
            values["has_scopes"] = !scopes.isEmpty
        case .apiKey(let spec):
            values["api_key"] = true
            values["key_label"] = spec.label
            if let help = spec.helpURL { values["help_url"] = help }
        case .basic(let spec):
            values["basic"] = true
            values["username_label"] = spec.usernameLabel
            values["password_label"] = spec.passwordLabel
        case .none:
            throw LatchkeyError(.invalidRequest, "\(manifest.name) needs no connection")
        }
        return pages.render("connect", values)
    }

    /// The success page, or a redirect to the session's allowed `return_to`.
    func finish(_ outcome: ConnectFlow.Outcome) -> Response {
        if let returnTo = outcome.returnTo {
            let separator = returnTo.contains("?") ? "&" : "?"
            let location = returnTo + separator + FormEncoding.encode([
                ("status", "connected"), ("connection_id", outcome.connection.id.rawValue), ("provider", outcome.connection.provider.rawValue),
            ])
            return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        }
        return pages.render("success", [
            "provider_name": outcome.providerName,
            "account": outcome.connection.account?.name ?? outcome.connection.account?.id ?? "your account",
            "connection_id": outcome.connection.id.rawValue,
        ])
    }

    /// The browser-binding cookie: sent back only to the callback, only over the same scheme, for ten minutes.
    /// A form posted from a connect page: the live session of its link (whose person, for a person's link, must be
    /// the one signed in) and the form's fields.
    func postedForm(_ request: Request, _ context: LatchkeyContext) async throws -> (ConnectSession, [String: String]) {
        let token = context.parameters.get("token") ?? ""
        let session = try await connectFlow.liveSession(token: token)
        _ = try await requirePerson(session, request, token: token, mayRedirect: false)
        return (session, try await DashboardForm.read(request))
    }
}
