import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Decides whether an agent may make a call, from its org's access policy and the grants it holds: its own, its
/// project's and its team's. With a ``StandingCache`` (the server's), a changed grant or policy holds from the next call
/// on in the process that changed it and within a second on other replicas; without one, every call reads the store.
public struct AccessGuard: Sendable {
    let store: any CapabilityGrantStore
    let clock: any LatchkeyClock
    let cache: StandingCache?

    public init(store: any CapabilityGrantStore, clock: any LatchkeyClock, cache: StandingCache? = nil) {
        self.store = store
        self.clock = clock
        self.cache = cache
    }

    /// What one agent may do at one instant, and, when it called with a narrowed key, what that key holds it to.
    public struct Standing: Sendable {
        public var agent: OwnerRef
        public var policy: OrgAccessPolicy
        public var grants: GrantSet
        public var now: Date
        /// The narrowed key's scope, and its grants read.
        public var key: (scope: KeyScope, grants: GrantSet)?

        /// Whether `request` may run, and whether it waits for approval. A write tool always needs a grant; a read tool
        /// or a proxied call needs one when the org's policy for it is `granted`. A narrowed key also needs one of its
        /// own grants to cover it, whatever the policy. The call waits for approval when the grant that lets it run
        /// (the key's, or the agent's) asks for it, and also under an `open` policy when the agent's grants that cover
        /// it all ask for it: an admin's explicit condition is never lifted by the policy's default.
        public func decide(_ request: AccessRequest, writes: Bool) -> GrantSet.Decision {
            let byKey = key.map { $0.grants.decide(request, at: now) } ?? .allowed(approval: .none)
            let granted = grants.decide(request, at: now)
            let byAgent = policy.openness(of: request.kind, writes: writes) == .open
                ? .allowed(approval: granted == .allowed(approval: .eachCall) ? .eachCall : .none) : granted
            switch (byKey, byAgent) {
            case (.notGranted, _), (_, .notGranted): return .notGranted
            case (.allowed(let a), .allowed(let b)): return .allowed(approval: a == .eachCall || b == .eachCall ? .eachCall : .none)
            }
        }

        /// Throws 403 unless `request` may run now; returns whether it waits for a person's approval first.
        @discardableResult
        public func require(_ request: AccessRequest, writes: Bool) throws(LatchkeyError) -> Grant.Approval {
            if case .allowed(let approval) = decide(request, writes: writes) { return approval }
            let field = if case .tool = request.kind { "tool" } else { "path" }
            if let key, key.grants.decide(request, at: now) == .notGranted {
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
            // The connection is not chosen yet: only the capability and expiry are weighed here.
            let request = AccessRequest(provider: provider, kind: kind, connection: ConnectionID(rawValue: ""))
            func somewhere(_ set: GrantSet) -> Bool {
                set.grants.contains { $0.isLive(at: now) && $0.capability.allows(request) }
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
        if let assembled = cache?.assembled(of: agent) {
            return Standing(agent: agent, policy: assembled.policy, grants: assembled.grants, now: clock.now)
        }
        let holders = Self.holders(of: agent)
        if let cache, let kept = cache.kept(owners: holders, org: agent.org) {
            let standing = try standing(of: agent, holders: holders, stored: kept.grants, policy: kept.policy)
            cache.keep(.init(grants: standing.grants, policy: standing.policy), of: agent, readAt: kept.readAt, generation: kept.generation)
            return standing
        }
        // Both reads at once: a call waits for one round trip, not two.
        async let policy = policy(org: agent.org)
        let stored = try await grants(owners: holders)
        return try standing(of: agent, holders: holders, stored: stored, policy: try await policy)
    }

    private func standing(
        of agent: OwnerRef, holders: [OwnerRef], stored: [OwnerRef: [StoredGrant]], policy: OrgAccessPolicy
    ) throws(LatchkeyError) -> Standing {
        var grants: [Grant] = []
        for holder in holders {
            for row in stored[holder] ?? [] { grants.append(try Grant(stored: row)) }
        }
        return Standing(agent: agent, policy: policy, grants: GrantSet(grants), now: clock.now)
    }

    private func policy(org: String) async throws -> OrgAccessPolicy {
        let store = self.store
        guard let cache else { return try await store.accessPolicy(org: org) }
        return try await cache.policy(org: org) { try await store.accessPolicy(org: org) }
    }

    private func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]] {
        let store = self.store
        guard let cache else { return try await store.grants(owners: owners) }
        return try await cache.grants(owners: owners) { try await store.grants(owners: owners) }
    }

    /// What `caller` may do now (held to its narrowed key, if it used one), or nil for a caller not held to grants.
    public func standing(of caller: Caller) async throws -> Standing? {
        guard case .agent(let agent, let scope, _) = caller else { return nil }
        var standing = try await standing(of: agent)
        if let scope {
            var grants: [Grant] = []
            for row in scope.grants { grants.append(try Grant(stored: row)) }
            standing.key = (scope, GrantSet(grants))
        }
        return standing
    }

    /// Throws 403 unless `caller` may make `request` now; returns whether the call waits for approval first. Only
    /// agents are held to grants: the admin holds every capability, and a person acts only on their own connections.
    public func check(_ request: AccessRequest, writes: Bool, caller: Caller) async throws -> Grant.Approval {
        // The grants are read even under an open policy: one of them may ask approval of this call.
        try await standing(of: caller)?.require(request, writes: writes) ?? .none
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
