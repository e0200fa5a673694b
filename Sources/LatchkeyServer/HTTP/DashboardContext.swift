import Hummingbird
import LatchkeyModel

/// A request for an `/admin` page with a live dashboard session (`DashboardAuthentication`).
struct DashboardContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The session, from its cookie.
    let signIn: DashboardSignIn

    init(context: LatchkeyContext) throws {
        guard let signIn = context.dashboard else { throw LatchkeyError(.unauthenticated, "sign in to the dashboard first") }
        self.coreContext = context.coreContext
        self.signIn = signIn
    }
}
