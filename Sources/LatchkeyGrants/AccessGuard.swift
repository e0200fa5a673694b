import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Decides whether an agent may make a call, from its org's access policy and the grants it holds: its own, its
/// project's and its team's. Nothing is cached, so a changed grant or policy holds from the next call on, on every
/// replica.
public struct AccessGuard: Sendable {
    let store: any CapabilityGrantStore
    let clock: any LatchkeyClock

    public init(store: any CapabilityGrantStore, clock: any LatchkeyClock) {
        self.store = store
        self.clock = clock
    }

    /// What one agent may do at one instant, and, when it called with a narrowed key, what that key holds it to.
    public struct Standing: Sendable {
        public var agent: OwnerRef
        public var policy: OrgAccessPolicy
        public var grants: GrantSet
        public var now: Date
        /// The narrowed key's scope, and its grants read.
        public var key: (scope: KeyScope, grants: GrantSet)?

        /// Whether `request` may run. A write tool always needs a grant; a read tool or a proxied call needs one
        /// when the org's policy for it is `granted`. A narrowed key also needs one of its own grants to cover it,
        /// whatever the policy.
        public func decide(_ request: AccessRequest, writes: Bool) -> GrantSet.Decision {
            if let key, key.grants.decide(request, at: now) != .allowed(approval: .none) { return .notGranted }
            return policy.openness(of: request.kind, writes: writes) == .open ? .allowed(approval: .none) : grants.decide(request, at: now)
        }

        /// Throws 403 unless `request` may run now. A grant that needs approval of each call counts as missing until
        /// approvals run on this server: it fails closed.
        public func require(_ request: AccessRequest, writes: Bool) throws(LatchkeyError) {
            guard decide(request, writes: writes) != .allowed(approval: .none) else { return }
            let field = if case .tool = request.kind { "tool" } else { "path" }
            if let key, key.grants.decide(request, at: now) != .allowed(approval: .none) {
                throw LatchkeyError(.notGranted, "\(field): the narrowed key \(key.scope.keyID) of \(agent) does not cover \(request.summary)", field: field)
            }
            switch request.kind {
            case .tool where writes:
                throw LatchkeyError(.toolNotGranted, "tool: \(request.summary) writes, and no admin has granted it to \(agent)", field: "tool")
            case .tool:
                throw LatchkeyError(
                    .notGranted, "tool: no grant of \(agent) covers \(request.summary), and org:\(agent.org) opens read tools only by grant",
                    field: "tool")
            case .proxy:
                throw LatchkeyError(
                    .notGranted, "path: no grant of \(agent) covers \(request.summary), and org:\(agent.org) opens the proxy only by grant",
                    field: "path")
            }
        }

        /// Whether `request` could run on some connection: checked before a connection is chosen, so that a call
        /// nothing covers is refused before any other answer gives away what the agent could reach.
        public func requireOnSomeConnection(_ provider: ProviderID, _ kind: AccessRequest.Kind, writes: Bool) throws(LatchkeyError) {
            // The connection is not chosen yet: only the capability, expiry and approval are weighed here.
            let request = AccessRequest(provider: provider, kind: kind, connection: ConnectionID(rawValue: ""))
            func somewhere(_ set: GrantSet) -> Bool {
                set.grants.contains { $0.approval == .none && $0.isLive(at: now) && $0.capability.allows(request) }
            }
            if key.map({ somewhere($0.grants) }) ?? true, policy.openness(of: kind, writes: writes) == .open || somewhere(grants) { return }
            try require(request, writes: writes)
        }

        /// Whether a key minted now under this standing may hold `grant`: within the narrowed key's own grants, if
        /// it called with one, and within what the agent may do (its grants, or its org's open policy for read tools
        /// and the proxy). `isWriteTool` tells a provider's write tools.
        public func covers(_ grant: Grant, isWriteTool: (ProviderID, String) -> Bool) -> Bool {
            if let key, !key.grants.includes(grant, at: now) { return false }
            switch grant.capability {
            case .proxy:
                return policy.proxy == .open || grants.includes(grant, at: now)
            case .tools(let provider, let names):
                return names.allSatisfy { name in
                    var one = grant
                    one.capability = .tools(provider: provider, names: [name])
                    return (!isWriteTool(provider, name) && policy.readTools == .open) || grants.includes(one, at: now)
                }
            }
        }
    }

    /// The owners whose grants `agent` holds: itself, then its project and team.
    public static func holders(of agent: OwnerRef) -> [OwnerRef] {
        agent.inheritanceChain.filter { [.agent, .project, .team].contains($0.kind) }
    }

    /// What `agent` may do now.
    public func standing(of agent: OwnerRef) async throws -> Standing {
        let holders = Self.holders(of: agent)
        let stored = try await store.grants(owners: holders)
        var grants: [Grant] = []
        for holder in holders {
            for row in stored[holder] ?? [] { grants.append(try Grant(stored: row)) }
        }
        return Standing(agent: agent, policy: try await store.accessPolicy(org: agent.org), grants: GrantSet(grants), now: clock.now)
    }

    /// What `caller` may do now (held to its narrowed key, if it used one), or nil for a caller not held to grants.
    public func standing(of caller: Caller) async throws -> Standing? {
        guard case .agent(let agent, let scope) = caller else { return nil }
        var standing = try await standing(of: agent)
        if let scope {
            var grants: [Grant] = []
            for row in scope.grants { grants.append(try Grant(stored: row)) }
            standing.key = (scope, GrantSet(grants))
        }
        return standing
    }

    /// Throws 403 unless `caller` may make `request` now. Only agents are held to grants: the admin holds every
    /// capability, and a person acts only on their own connections.
    public func check(_ request: AccessRequest, writes: Bool, caller: Caller) async throws {
        guard case .agent(let agent, let scope) = caller else { return }
        // The common case, an open org and the agent's own key, needs the policy alone, not the grants.
        if scope == nil, try await store.accessPolicy(org: agent.org).openness(of: request.kind, writes: writes) == .open { return }
        try await standing(of: caller)?.require(request, writes: writes)
    }
}

extension OrgAccessPolicy {
    /// Whether a call of `kind` needs a grant under this policy: a write tool always does.
    func openness(of kind: AccessRequest.Kind, writes: Bool) -> Openness {
        switch kind {
        case .tool: writes ? .granted : readTools
        case .proxy: proxy
        }
    }
}
