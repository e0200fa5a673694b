import Foundation
import Hummingbird
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// `/v1/admin`: which tools an agent may call, and an org's credits. Admin key only.
struct AdminGrantRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let grants: GrantDirectory
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        group.put("/agents/:org/:team/:project/:agent/grants") { request, context in
            let agent = try context.agentParameter()
            guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
            let body = try await JSONBody.read(request, limit: limit)
            guard let tools = try body.stringList("tools") else { throw LatchkeyError(.invalidRequest, "tools: required", field: "tools") }
            let sorted = try await grants.set(agent: agent, tools: tools, actor: .admin)
            return APIResponse.json(["agent": AnyEncodable(agent.description), "tools": AnyEncodable(sorted)])
        }
        group.get("/agents/:org/:team/:project/:agent/grants") { _, context in
            let agent = try context.agentParameter()
            let tools = try await store.grants(agent: agent).sorted()
            return APIResponse.json(["agent": AnyEncodable(agent.description), "tools": AnyEncodable(tools)])
        }
        group.post("/orgs/:org/credits") { request, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            guard try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "\(org) does not exist", field: "org") }
            let body = try await JSONBody.read(request, limit: limit)
            guard case .number(let n)? = body.object["add"], n.rounded() == n, n > 0, n < 1e12 else {
                throw LatchkeyError(.invalidRequest, "add: must be a positive whole number of credits", field: "add")
            }
            let balance = try await store.addCredits(org: org.org, amount: Int(n))
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .creditsAdded, owner: org, detail: "\(Int(n))"))
            return APIResponse.json(["org": AnyEncodable(org.org), "balance": AnyEncodable(balance)])
        }
        group.get("/orgs/:org/credits") { _, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            let balance = try await store.creditBalance(org: org.org)
            let usage = try await store.creditUsage(org: org.org)
            return APIResponse.json(["org": AnyEncodable(org.org), "balance": AnyEncodable(balance), "usage": AnyEncodable(usage)])
        }
    }
}
