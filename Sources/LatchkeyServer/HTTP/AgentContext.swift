import Hummingbird
import LatchkeyModel

/// A request that an agent key authenticated: `/mcp` serves agents only.
struct AgentContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The agent calling.
    let agent: OwnerRef

    init(context: LatchkeyContext) throws {
        guard let caller = context.caller else { throw LatchkeyError(.unauthenticated, "missing bearer token") }
        guard case .agent(let agent) = caller else { throw LatchkeyError(.forbidden, "/mcp serves agents: use an agent key") }
        self.coreContext = context.coreContext
        self.agent = agent
    }
}
