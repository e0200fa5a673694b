import HTTPTypes
import Hummingbird
import LatchkeyModel
import Logging

/// The request context: Hummingbird's core storage plus the authenticated caller, set by `CallerAuthentication`.
public struct LatchkeyContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware on API routes; nil on public routes.
    public var caller: Caller?
    /// Set by the dashboard's session check on `/admin` pages; nil elsewhere.
    var dashboard: DashboardSignIn?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The caller, which authenticated routes always have.
    func requireCaller() throws(LatchkeyError) -> Caller {
        guard let caller else { throw LatchkeyError(.unauthenticated, "missing bearer token") }
        return caller
    }
}

/// A request of a signed-in dashboard session, set by `DashboardAuthentication`.
struct DashboardSignIn: Sendable {
    /// The session id from the cookie (never rendered or logged).
    let sessionID: String
    let session: AdminSession
}
