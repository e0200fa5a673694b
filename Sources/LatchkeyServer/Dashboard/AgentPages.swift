import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyApprovals
import LatchkeyGrants
import LatchkeyModel
import LatchkeyStore

/// `GET /admin/agents/{org}/{team}/{project}/{agent}`: what one agent may do and is doing: its org's policy, the
/// grants it holds (its own, its project's and its team's, expiry shown), the narrowed keys it minted, and its calls
/// waiting for approval.
struct AgentPages {
    let store: any LatchkeyStorage
    let grants: GrantDirectory
    let desk: ApprovalDesk
    let integrations: IntegrationPages

    func register(on group: RouterGroup<DashboardContext>) {
        group.get("/agents/:org/:team/:project/:agent") { _, context in
            try await integrations.page(context) { chrome in
                let agent = try OwnerRef(
                    kind: .agent, segments: ["org", "team", "project", "agent"].map { context.parameters.get($0) ?? "" }, field: "agent")
                guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "agent: \(agent) does not exist", field: "agent") }
                return integrations.pages.render("agent", title: agent.description, try await values(agent), chrome: chrome)
            }
        }
    }

    /// A narrowed key's grant as its row shows it: each ends with the key, whose expiry the row shows.
    static func withoutExpiry(_ stored: StoredGrant) throws -> Grant {
        var grant = try Grant(stored: stored)
        grant.expiresAt = nil
        return grant
    }

    func values(_ agent: OwnerRef) async throws -> [String: Any] {
        let now = integrations.clock.now
        var grantRows: [[String: Any]] = []
        for holder in AccessGuard.holders(of: agent) {
            for grant in try await grants.grants(of: holder) {
                let view = grant.view(at: now)
                let what = view.tools.map { "tools " + $0.joined(separator: ", ") }
                    ?? "\((view.methods ?? []).joined(separator: ",")) \((view.paths ?? []).joined(separator: " "))"
                grantRows.append([
                    "holder": holder == agent ? "this agent" : holder.description, "provider": view.provider, "what": what,
                    "connection": view.connection ?? "any", "approval": view.approval == "each_call" ? "each call" : "no",
                    "expires_at": view.expiresAt.map(DashboardViews.time) ?? "never", "expired": view.expired,
                ])
            }
        }
        var keys: [[String: Any]] = []
        for record in try await store.narrowedKeys(agent: agent) {
            let view = try record.view(at: now)
            keys.append([
                "id": view.id, "parent": view.parent, "depth": view.depth, "created_at": DashboardViews.time(view.createdAt),
                "expires_at": DashboardViews.time(view.expiresAt), "expired": view.expired, "grants": GrantDirectory.summary(try record.grants.map(Self.withoutExpiry)),
            ])
        }
        var pending: [[String: Any]] = []
        for record in try await desk.approvals(for: .admin, state: "pending", agent: agent) {
            pending.append(ApprovalPageValues.row(await desk.view(record, showCall: false)))
        }
        let policy = try await grants.policy(org: try OwnerRef(kind: .org, path: agent.org, field: "org"))
        return [
            "agent": agent.description, "read_tools": policy.readTools.rawValue, "proxy": policy.proxy.rawValue, "grants": grantRows,
            "keys": keys, "approvals": pending, "form_base": "/admin",
        ]
    }
}
