import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore
import Logging

/// How every dashboard action runs: the CSRF token checked before anything else, the integration read from the path,
/// the outcome (or the error) left as a message for the next page, and a redirect back to the integration.
struct DashboardFormAction: Sendable {
    let catalog: ProviderCatalog
    let sessions: AdminSessions
    let pages: DashboardPages
    let logger: Logger

    /// Checks the CSRF token, runs `body`, leaves its message (or its error) for the next page, and redirects to
    /// the integration's connections tab. A missing or wrong token is refused with 403 before anything changes.
    func run(
        _ request: Request, _ context: DashboardContext,
        _ body: (ProviderManifest, [String: String]) async throws -> String
    ) async throws -> Response {
        let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
        return try await run(request, context, back: "/admin/integrations/\(manifest.id.rawValue)?tab=connections") { form in
            try await body(manifest, form)
        }
    }

    /// Checks the CSRF token, runs `body`, leaves its message (or its error) for the next page, and redirects to
    /// `back`. A missing or wrong token is refused with 403 before anything changes.
    func run(
        _ request: Request, _ context: DashboardContext, back: String, _ body: ([String: String]) async throws -> String
    ) async throws -> Response {
        let signIn = context.signIn
        let form = try await DashboardForm.read(request)
        guard DashboardForm.csrfMatches(form, signIn.session) else {
            logger.info("dashboard form refused", metadata: ["reason": "csrf"])
            return pages.problem(
                "Refused", code: "csrf_failed", message: DashboardForm.csrfMessage, status: .forbidden,
                chrome: DashboardPages.Chrome(csrf: signIn.session.csrfToken))
        }
        do {
            let message = try await body(form)
            try await sessions.setFlash(id: signIn.sessionID, AdminSession.Flash(message: message, isError: false))
        } catch let error as LatchkeyError {
            try await sessions.setFlash(id: signIn.sessionID, AdminSession.Flash(message: error.message, isError: true))
        }
        return Response(status: .seeOther, headers: [.location: back, .cacheControl: "no-store"])
    }
}
