import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyModel
import LatchkeyRuntime

/// Lets a request into `/admin` pages only with a live session cookie; otherwise it goes to the sign-in page.
/// Sets `context.dashboard`, which every dashboard handler requires.
struct DashboardAuthentication: RouterMiddleware {
    typealias Context = LatchkeyContext
    static let cookieName = "lk_admin_session"
    let sessions: AdminSessions
    let clock: any LatchkeyClock

    @concurrent func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        guard let id = request.cookies[Self.cookieName]?.value, !id.isEmpty, let session = try await sessions.session(id: id, now: clock.now) else {
            return Response(status: .seeOther, headers: [.location: "/admin/login", .cacheControl: "no-store"])
        }
        var context = context
        context.dashboard = DashboardSignIn(sessionID: id, session: session)
        return try await next(request, context)
    }
}

