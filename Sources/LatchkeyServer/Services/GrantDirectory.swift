import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore

/// The write tools an agent may call: sets, adds and withdraws grants, and audits each change.
/// The admin API and the dashboard both go through here.
struct GrantDirectory: Sendable {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let catalog: ProviderCatalog
    let toolsChanged: WakeSignal

    /// Replaces the agent's grants with `tools` (each `provider.tool`, which must exist). Returns them sorted.
    @discardableResult
    func set(agent: OwnerRef, tools: [String], actor: Caller) async throws -> [String] {
        guard agent.kind == .agent else { throw LatchkeyError(.invalidRequest, "agent: \(agent) is not an agent", field: "agent") }
        guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
        for name in tools { _ = try ToolRunner.lookup(name, in: catalog) }
        let sorted = Array(Set(tools)).sorted()
        try await store.setGrants(agent: agent, tools: sorted, at: clock.now)
        toolsChanged.signal()
        await audit.record(AuditEvent(
            at: clock.now, actor: AuditActor(actor), action: .agentGrantsSet, owner: agent, detail: sorted.joined(separator: ",")))
        return sorted
    }

    /// Adds one tool to the agent's grants, keeping the others.
    func grant(_ tool: String, to agent: OwnerRef, actor: Caller) async throws {
        let current = try await store.grants(agent: agent)
        try await set(agent: agent, tools: Array(current.union([tool])), actor: actor)
    }

    /// Removes one tool from the agent's grants, keeping the others.
    func withdraw(_ tool: String, from agent: OwnerRef, actor: Caller) async throws {
        var current = try await store.grants(agent: agent)
        current.remove(tool)
        try await set(agent: agent, tools: Array(current), actor: actor)
    }
}
