import Hummingbird
import LatchkeyModel

/// A request that an agent key authenticated: `/mcp` serves agents only.
struct AgentContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The agent calling.
    let agent: OwnerRef
    /// The agent, with its narrowed key's scope when it called with one.
    let caller: Caller

    init(context: LatchkeyContext) throws {
        guard let caller = context.caller else { throw LatchkeyError(.unauthenticated, "missing bearer token") }
        guard case .agent(let agent, _, _) = caller else { throw LatchkeyError(.forbidden, "/mcp serves agents: use an agent key") }
        self.coreContext = context.coreContext
        self.agent = agent
        self.caller = caller
    }
}
