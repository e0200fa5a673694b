import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// The grants of agents, projects and teams, and each org's access policy: reads what the admin API takes, replaces
/// grants, and audits every change. The admin API and the dashboard both go through here. Each change wakes the
/// agents' open MCP sessions, whose tool lists may have changed.
public struct GrantDirectory: Sendable {
    let store: any CapabilityGrantStore & IdentityStore
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let catalog: ProviderCatalog
    let toolsChanged: WakeSignal
    /// The hot path's memory of standings, forgotten at every change here.
    let standings: StandingCache?

    public init(
        store: any CapabilityGrantStore & IdentityStore, clock: any LatchkeyClock, audit: AuditTrail, catalog: ProviderCatalog,
        toolsChanged: WakeSignal, standings: StandingCache? = nil
    ) {
        self.store = store
        self.clock = clock
        self.audit = audit
        self.catalog = catalog
        self.toolsChanged = toolsChanged
        self.standings = standings
    }

    /// Reads a `PUT .../grants` body: `{"grants":[...]}`, or `{"tools":["provider.tool", ...]}` as before grants had
    /// more than tools (one tool grant per provider, unbound and without expiry).
    public func read(_ body: JSONValue) throws(LatchkeyError) -> [Grant] {
        guard case .object(let object) = body else { throw LatchkeyError(.invalidRequest, "body: must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { $0 != "grants" && $0 != "tools" }) {
            throw LatchkeyError(.invalidRequest, "\(unknown): not a field of a grants body (grants, or tools)", field: unknown)
        }
        switch (object["grants"], object["tools"]) {
        case (let grants?, nil):
            return try GrantReader(now: clock.now, catalog: catalog).grants(grants)
        case (nil, .array(let names)?):
            var byProvider: [ProviderID: Set<String>] = [:]
            for name in names {
                guard case .string(let name) = name else { throw LatchkeyError(.invalidRequest, "tools: must be an array of strings", field: "tools") }
                let (provider, tool) = try catalog.grantableTool(named: name)
                byProvider[provider, default: []].insert(tool)
            }
            return byProvider.keys.sorted().map { Grant(capability: .tools(provider: $0, names: byProvider[$0] ?? [])) }
        case (nil, nil):
            throw LatchkeyError(.invalidRequest, "grants: required (or tools, as before)", field: "grants")
        default:
            throw LatchkeyError(.invalidRequest, "tools: must be an array of tool names, and not given with grants", field: "tools")
        }
    }

    /// Replaces the grants of `owner`, an agent, project or team that exists. Returns them as stored.
    @discardableResult
    public func replace(_ owner: OwnerRef, with grants: [Grant], actor: Caller) async throws -> [Grant] {
        try await requireHolder(owner)
        try await store.replaceGrants(owner: owner, grants.map(\.stored), at: clock.now)
        standings?.forget()
        toolsChanged.signal()
        let action: AuditAction = owner.kind == .agent ? .agentGrantsSet : .grantsSet
        await audit.record(AuditEvent(at: clock.now, actor: AuditActor(actor), action: action, owner: owner, detail: Self.summary(grants)))
        return try await self.grants(of: owner)
    }

    /// The grants `owner` holds, expired ones included, in the order they were set.
    public func grants(of owner: OwnerRef) async throws -> [Grant] {
        try await requireHolder(owner)
        var grants: [Grant] = []
        for row in try await store.grants(owners: [owner])[owner] ?? [] { grants.append(try Grant(stored: row)) }
        return grants
    }

    /// The tools granted to `owner` by name (`provider.tool`), sorted: what `{"tools":[...]}` set before.
    public func toolNames(of grants: [Grant], at now: Date) -> [String] {
        Set(grants.filter { $0.isLive(at: now) }.flatMap { grant -> [String] in
            guard case .tools(let provider, let names) = grant.capability else { return [] }
            return names.map { "\(provider).\($0)" }
        }).sorted()
    }

    /// Adds one tool (`provider.tool`) to an agent's grants, keeping the others.
    public func grant(_ tool: String, to agent: OwnerRef, actor: Caller) async throws {
        let (provider, name) = try catalog.grantableTool(named: tool)
        var grants = try await self.grants(of: agent)
        if let index = grants.firstIndex(where: { $0.isPlainTools(of: provider) }),
            case .tools(_, let names) = grants[index].capability
        {
            grants[index].capability = .tools(provider: provider, names: names.union([name]))
        } else {
            grants.append(Grant(capability: .tools(provider: provider, names: [name])))
        }
        try await replace(agent, with: grants, actor: actor)
    }

    /// Withdraws one tool (`provider.tool`) from every tool grant of an agent, keeping the rest.
    public func withdraw(_ tool: String, from agent: OwnerRef, actor: Caller) async throws {
        let (withdrawn, name) = try catalog.grantableTool(named: tool)
        let grants = try await self.grants(of: agent).compactMap { grant -> Grant? in
            guard case .tools(let provider, let names) = grant.capability, provider == withdrawn else { return grant }
            let left = names.subtracting([name])
            guard !left.isEmpty else { return nil }
            var kept = grant
            kept.capability = .tools(provider: provider, names: left)
            return kept
        }
        try await replace(agent, with: grants, actor: actor)
    }

    /// Sets an org's access policy.
    public func setPolicy(_ policy: OrgAccessPolicy, org: OwnerRef, actor: Caller) async throws {
        guard org.kind == .org, try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "org: \(org) does not exist", field: "org") }
        try await store.setAccessPolicy(org: org.org, policy, at: clock.now)
        standings?.forget()
        toolsChanged.signal()
        await audit.record(AuditEvent(
            at: clock.now, actor: AuditActor(actor), action: .orgPolicySet, owner: org,
            detail: "read_tools=\(policy.readTools.rawValue),proxy=\(policy.proxy.rawValue)"))
    }

    /// An org's access policy (`open` for both until an admin sets one).
    public func policy(org: OwnerRef) async throws -> OrgAccessPolicy {
        guard org.kind == .org, try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "org: \(org) does not exist", field: "org") }
        return try await store.accessPolicy(org: org.org)
    }

    func requireHolder(_ owner: OwnerRef) async throws {
        guard [.agent, .project, .team].contains(owner.kind) else {
            throw LatchkeyError(.invalidRequest, "owner: \(owner) cannot hold grants (agents, projects and teams can)", field: "owner")
        }
        guard try await store.ownerExists(owner) else { throw LatchkeyError(.notFound, "\(owner) does not exist", field: owner.kind.rawValue) }
    }

    /// The audit detail: each grant in a few words (`github: list_issues create_issue`, `github: GET /repos/acme/*`).
    public static func summary(_ grants: [Grant]) -> String {
        grants.map { grant in
            let stored = grant.stored
            let what = stored.tools.isEmpty ? stored.methods.joined(separator: ",") + " " + stored.paths.joined(separator: " ") : stored.tools.joined(separator: " ")
            let bounds = [stored.connection.map { "on \($0.rawValue)" }, stored.expiresAt.map { "until \(Int($0.timeIntervalSince1970))" }]
            return ([stored.provider.rawValue + ": " + what] + bounds.compactMap { $0 }).joined(separator: " ")
        }.joined(separator: "; ")
    }
}

extension Grant {
    /// An unbound, unexpiring tool grant of `provider` without approval: the kind a single tool is added to.
    func isPlainTools(of provider: ProviderID) -> Bool {
        guard case .tools(let p, _) = capability else { return false }
        return p == provider && connection == nil && expiresAt == nil && approval == .none
    }
}
