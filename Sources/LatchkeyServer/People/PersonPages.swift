import Foundation
import Hummingbird
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// What every `/me` page shares: the person's session from its cookie, the CSRF check on forms, the one-time message
/// after an action, and errors rendered as problem pages with their status and stable code.
struct PersonPages: Sendable {
    let sessions: PersonSessions
    let pages: DashboardPages
    let clock: any LatchkeyClock
    let logger: Logger

    func chrome(_ id: String, _ session: PersonSession) async throws -> DashboardPages.Chrome {
        DashboardPages.Chrome(csrf: session.csrfToken, flash: try await sessions.takeFlash(id: id), who: session.person.description)
    }

    /// POST/redirect/GET: the message shows once on the console.
    func done(_ id: String, _ message: String) async throws -> Response {
        try await sessions.setFlash(id: id, AdminSession.Flash(message: message, isError: false))
        return Self.redirect("/me")
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

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
