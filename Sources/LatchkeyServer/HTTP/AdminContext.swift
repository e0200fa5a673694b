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

extension AdminContext {
    /// The agent named by the path's `:org/:team/:project/:agent`.
    func agentParameter() throws(LatchkeyError) -> OwnerRef {
        let parts = ["org", "team", "project", "agent"].map { parameters.get($0) ?? "" }
        return try OwnerRef(kind: .agent, segments: parts, field: "agent")
    }
}
