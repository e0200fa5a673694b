import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyGrants
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// `/v1/admin`: orgs, teams, projects, people and agents, and agents' keys. Admin key only.
struct AdminOwnerRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let agentKeys: AgentKeyCache
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        group.post("/orgs") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            return try await createOwner(try OwnerRef(kind: .org, path: try body.string("id"), field: "id"))
        }
        group.post("/teams") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            return try await createOwner(try OwnerRef(kind: .team, segments: [try body.string("org"), try body.string("id")], field: "id"))
        }
        group.post("/projects") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let team = try OwnerRef(kind: .team, path: try body.string("team"), field: "team")
            return try await createOwner(try OwnerRef(kind: .project, segments: team.segments + [try body.string("id")], field: "id"))
        }
        group.post("/users") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let user = try OwnerRef(kind: .user, segments: [try body.string("org"), try body.string("id")], field: "id")
            let email = try body.optionalString("email").map { try Self.checkedEmail($0) }
            if let email, try await store.person(org: user.org, email: email) != nil {
                throw LatchkeyError(.conflict, "email: another person of \(user.org) has this email", field: "email")
            }
            let response = try await createOwner(user)
            if let email { try await store.setPerson(user, email: email) }
            return response
        }
        group.post("/agents") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let project = try OwnerRef(kind: .project, path: try body.string("project"), field: "project")
            let agent = try OwnerRef(kind: .agent, segments: project.segments + [try body.string("id")], field: "id")
            try await store.createOwner(agent, at: clock.now)
            return try await newKey(for: agent, audited: .ownerCreated)
        }
        // A new key for an agent (the old ones keep working until revoked), and revocation of all its keys.
        group.post("/agents/:org/:team/:project/:agent/keys") { _, context in
            let agent = try context.agentParameter()
            guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
            return try await newKey(for: agent, audited: .agentKeyCreated)
        }
        group.delete("/agents/:org/:team/:project/:agent/keys") { _, context in
            let agent = try context.agentParameter()
            let count = try await store.revokeAgentKeys(agent: agent, at: clock.now)
            agentKeys.clear()
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .agentKeysRevoked, owner: agent, detail: "\(count)"))
            return APIResponse.json(JSONValue.object(["owner": .string(agent.description), "revoked": .number(Double(count))]))
        }
        // The narrowed keys an agent minted (never the keys), newest first, expired ones marked.
        group.get("/agents/:org/:team/:project/:agent/keys") { _, context in
            let agent = try context.agentParameter()
            guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
            let now = clock.now
            var keys: [NarrowedKeyView] = []
            for record in try await store.narrowedKeys(agent: agent) { keys.append(try record.view(at: now)) }
            return APIResponse.json(["owner": AnyEncodable(agent.description), "narrowed_keys": AnyEncodable(keys)])
        }
    }

    /// A plausible email (one `@`, no spaces or control characters, at most 254 characters), lowercased.
    static func checkedEmail(_ raw: String) throws(LatchkeyError) -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !email.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F })
        else { throw LatchkeyError(.invalidRequest, "email: '\(raw.prefix(80))' is not an email address", field: "email") }
        return email
    }

    /// A new agent key for `agent`, stored only as its hash and shown once in the answer; audited as `action`.
    func newKey(for agent: OwnerRef, audited action: AuditAction) async throws -> Response {
        let key = AgentKey.generate()
        try await store.addAgentKey(hash: SecretHash.sha256Hex(key), agent: agent, at: clock.now)
        await audit.record(AuditEvent(at: clock.now, actor: .admin, action: action, owner: agent))
        return APIResponse.json(JSONValue.object(["owner": .string(agent.description), "api_key": .string(key)]), status: .created)
    }

    func createOwner(_ owner: OwnerRef) async throws -> Response {
        try await store.createOwner(owner, at: clock.now)
        await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .ownerCreated, owner: owner))
        return APIResponse.json(JSONValue.object(["owner": .string(owner.description)]), status: .created)
    }
}
