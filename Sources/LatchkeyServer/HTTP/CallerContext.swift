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

    /// The caller, unless it called with a narrowed key: installing, connecting and removing integrations take the
    /// agent's own key (or the admin's), since a narrowed key carries only what it was granted.
    func callerWithOwnKey(_ action: String) throws(LatchkeyError) -> Caller {
        if let scope = caller.keyScope {
            throw LatchkeyError(.forbidden, "\(action) takes the agent's own key; the narrowed key \(scope.keyID) only calls what it was granted")
        }
        return caller
    }
}
