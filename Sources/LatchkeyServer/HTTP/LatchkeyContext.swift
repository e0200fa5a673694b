import HTTPTypes
import Hummingbird
import LatchkeyModel
import Logging

/// Who is calling: the admin, one agent, or a person signed in at `/me` (acting only for themselves).
public enum Caller: Sendable, Equatable {
    case admin
    case agent(OwnerRef)
    case person(OwnerRef)

    /// The audit actor name.
    var actorName: String {
        switch self {
        case .admin: "admin"
        case .agent(let ref), .person(let ref): ref.description
        }
    }
}

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
