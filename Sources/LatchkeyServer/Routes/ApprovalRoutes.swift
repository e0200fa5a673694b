import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyApprovals
import LatchkeyModel
import LatchkeyStore

/// Approvals of single calls: the agent follows its own at `GET /v1/approvals/{id}` (`?wait=` seconds, at most 30,
/// waits for a decision); the admin lists, shows and decides them under `/v1/admin/approvals`.
struct ApprovalRoutes {
    let desk: ApprovalDesk
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(agents group: RouterGroup<CallerContext>) {
        group.get("/approvals/:id") { request, context in
            let wait = try Self.wait(request.queryValue("wait"))
            switch try await desk.poll(context.parameters.get("id") ?? "", caller: context.caller, wait: wait) {
            case .waiting(let view): return APIResponse.json(AgentAnswer(approval: view, result: nil), status: .accepted)
            case .done(let view, let result): return APIResponse.json(AgentAnswer(approval: view, result: result))
            }
        }
    }

    func register(admin group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        group.get("/approvals") { request, _ in
            let agent = try request.queryValue("agent").map { try OwnerRef(parsing: $0, field: "agent") }
            let records = try await desk.approvals(for: .admin, state: request.queryValue("state"), agent: agent)
            var views: [ApprovalView] = []
            for record in records { views.append(await desk.view(record, showCall: true)) }
            return APIResponse.json(["approvals": views])
        }
        group.get("/approvals/:id") { _, context in
            let record = try await desk.approval(context.parameters.get("id") ?? "", for: .admin)
            return APIResponse.json(await desk.view(record, showCall: true))
        }
        group.post("/approvals/:id") { request, context in
            let body = try await JSONBody.read(request, limit: limit)
            let approve = try Self.decision(body)
            let record = try await desk.decide(context.parameters.get("id") ?? "", approve: approve, by: .admin)
            return APIResponse.json(await desk.view(record, showCall: true))
        }
    }

    /// What the agent sees: the approval, and once the call ran, its answer.
    struct AgentAnswer: Encodable {
        var approval: ApprovalView
        var result: JSONValue?
    }

    /// `{"decision":"approve"|"decline"}`.
    static func decision(_ body: JSONBody) throws(LatchkeyError) -> Bool {
        if let unknown = body.object.keys.sorted().first(where: { $0 != "decision" }) {
            throw LatchkeyError(.invalidRequest, "\(unknown): not a field of a decision (decision)", field: unknown)
        }
        return try ApprovalDesk.approves(try body.string("decision"))
    }

    /// `?wait=` in whole seconds, 0 to 30.
    static func wait(_ raw: String?) throws(LatchkeyError) -> Duration {
        guard let raw else { return .zero }
        guard let seconds = Int(raw), (0...30).contains(seconds) else {
            throw LatchkeyError(.invalidRequest, "wait: whole seconds from 0 to 30", field: "wait")
        }
        return .seconds(seconds)
    }
}
