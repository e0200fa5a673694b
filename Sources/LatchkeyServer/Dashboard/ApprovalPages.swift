import Foundation
import Hummingbird
import LatchkeyApprovals
import LatchkeyModel

/// `/admin/approvals`: the calls waiting for approval (and those decided), one approval's page with what exactly is
/// asked, and the approve and decline buttons (CSRF-checked, audited with actor `admin`).
struct ApprovalPages {
    let desk: ApprovalDesk
    let form: DashboardFormAction
    let integrations: IntegrationPages

    func register(on group: RouterGroup<DashboardContext>) {
        group.get("/approvals") { request, context in
            try await integrations.page(context) { chrome in
                let state = request.queryValue("state").flatMap { $0.isEmpty ? nil : $0 } ?? "pending"
                let shown = state == "all" ? nil : state
                var rows: [[String: Any]] = []
                for record in try await desk.approvals(for: .admin, state: shown) { rows.append(ApprovalPageValues.row(await desk.view(record, showCall: false))) }
                let states = (["all"] + ApprovalDesk.shownStates).map { ["state": $0, "on": $0 == state] as [String: Any] }
                return integrations.pages.render("approvals", title: "Approvals", ["approvals": rows, "states": states, "form_base": "/admin"], chrome: chrome)
            }
        }
        group.get("/approvals/:id") { _, context in
            try await integrations.page(context) { chrome in
                let record = try await desk.approval(context.parameters.get("id") ?? "", for: .admin)
                var values = ApprovalPageValues.row(await desk.view(record, showCall: true))
                values["form_base"] = "/admin"
                return integrations.pages.render("approval", title: "Approval \(record.id)", values, chrome: chrome)
            }
        }
        group.post("/approvals/:id/decide") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await form.run(request, context, back: "/admin/approvals/\(id)") { fields in
                let ended = try await desk.decide(id, approve: try ApprovalDesk.approves(DashboardForm.field(fields, "decision")), by: .admin)
                return switch ended.state {
                case .done: "Approved: \(ended.summary) ran and answered \(ended.resultStatus.map(String.init) ?? "-")."
                case .failed: "Approved, but \(ended.summary) could not run; the agent sees why."
                default: "Declined: \(ended.summary) will not run."
                }
            }
        }
    }
}
