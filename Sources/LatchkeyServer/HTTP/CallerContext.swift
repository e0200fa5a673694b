import Hummingbird
import LatchkeyModel

/// A request on `/v1` that a key authenticated (`CallerAuthentication`): an agent or the admin, never nobody.
struct CallerContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    /// Who is calling.
    let caller: Caller

    init(context: LatchkeyContext) throws {
        guard let caller = context.caller else { throw LatchkeyError(.unauthenticated, "missing bearer token") }
        self.coreContext = context.coreContext
        self.caller = caller
    }
}
