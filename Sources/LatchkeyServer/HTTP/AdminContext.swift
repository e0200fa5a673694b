import Hummingbird
import LatchkeyModel

/// A request on `/v1/admin` that the admin key authenticated (`CallerAuthentication` with `adminOnly`).
struct AdminContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage

    init(context: LatchkeyContext) throws {
        guard let caller = context.caller else { throw LatchkeyError(.unauthenticated, "missing bearer token") }
        guard caller == .admin else { throw LatchkeyError(.forbidden, "this route needs the admin key") }
        self.coreContext = context.coreContext
    }
}
