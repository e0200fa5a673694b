import Foundation
import Hummingbird
import LatchkeyApprovals
import LatchkeyModel

/// `/me/approvals`: the calls agents made on the signed-in person's connections that wait for their approval; one
/// approval's page with exactly what it asks; approve (it runs once) or decline, CSRF-checked and audited with the
/// person as actor. Another person's approval is not found.
struct PersonApprovalRoutes {
    let web: PersonPages
    let desk: ApprovalDesk

    func register(on router: Router<LatchkeyContext>) {
        router.get("/me/approvals") { request, _ in
            await web.page(nil) {
                guard let (id, session) = try await web.sessions.signedIn(request, now: web.clock.now) else {
                    return web.pages.render("signin", title: "Sign in", ["next": "/me/approvals"])
                }
                var rows: [[String: Any]] = []
                for record in try await desk.approvals(for: .person(session.person), state: "pending") {
                    rows.append(ApprovalPageValues.row(await desk.view(record, showCall: false)))
                }
                return web.pages.render("my_approvals", title: "Approvals", ["approvals": rows, "form_base": "/me"], chrome: try await web.chrome(id, session))
            }
        }
        router.get("/me/approvals/:id") { request, context in
            let approval = context.parameters.get("id") ?? ""
            return await web.page(nil) {
                guard let (id, session) = try await web.sessions.signedIn(request, now: web.clock.now) else {
                    return web.pages.render("signin", title: "Sign in", ["next": "/me/approvals/\(approval)"])
                }
                let record = try await desk.approval(approval, for: .person(session.person))
                var values = ApprovalPageValues.row(await desk.view(record, showCall: true))
                values["form_base"] = "/me"
                return web.pages.render("approval", title: "Approval \(record.id)", values, chrome: try await web.chrome(id, session))
            }
        }
        router.post("/me/approvals/:id/decide") { request, context in
            let approval = context.parameters.get("id") ?? ""
            return await web.signedIn(request) { id, session, form in
                let approve = try ApprovalDesk.approves(DashboardForm.field(form, "decision"))
                let ended = try await desk.decide(approval, approve: approve, by: .person(session.person))
                let message = switch ended.state {
                case .done: "Approved: the call ran once and answered \(ended.resultStatus.map(String.init) ?? "-")."
                case .failed: "Approved, but the call could not run; the agent sees why."
                default: "Declined: the call will not run."
                }
                try await web.sessions.setFlash(id: id, AdminSession.Flash(message: message, isError: false))
                return PersonPages.redirect("/me/approvals/\(approval)")
            }
        }
    }
}
