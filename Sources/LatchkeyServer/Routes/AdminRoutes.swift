import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens

/// `/v1/admin/...`: identities, apps, connections and the audit log. Admin key only.
struct AdminRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let settings: ServerSettings
    let audit: AuditTrail
    let catalog: ProviderCatalog
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let apps: AppDirectory
    let agentKeys: AgentKeyCache
    let grants: GrantDirectory
    let personSignIn: PersonSignIn
    let forcedRefresh: ForcedRefresh

    func register(on group: RouterGroup<AdminContext>) {
        let limit = settings.maxJSONBodyBytes
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
        // A single-use sign-in link for a person, for orgs without an identity provider.
        group.post("/users/:org/:id/sign-in-links") { _, context in
            let user = try OwnerRef(kind: .user, segments: [context.parameters.get("org") ?? "", context.parameters.get("id") ?? ""], field: "user")
            let link = try await personSignIn.createLink(for: user)
            return APIResponse.json(
                JSONValue.object(["url": .string(link.url), "expires_at": .string(ISO8601DateFormatter().string(from: link.expiresAt))]),
                status: .created)
        }
        // The org's OpenID Connect identity provider for people's sign-in at /me.
        group.put("/orgs/:org/sign-in") { request, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            guard try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "\(org) does not exist", field: "org") }
            let body = try await JSONBody.read(request, limit: limit)
            let issuer = try body.string("issuer")
            guard URLRules.isAllowed(issuer) else {
                throw LatchkeyError(.invalidRequest, "issuer: '\(issuer.prefix(100))' is not an https URL", field: "issuer")
            }
            let clientID = try body.string("client_id")
            try await personSignIn.configure(
                org: org, issuer: issuer, clientID: clientID, clientSecret: try body.optionalString("client_secret"))
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .orgSignInConfigured, owner: org, detail: issuer))
            return signInView(org: org.org, issuer: issuer, clientID: clientID)
        }
        group.get("/orgs/:org/sign-in") { _, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            guard let provider = try await store.signInProvider(org: org.org) else {
                throw LatchkeyError(.notFound, "\(org) has no identity provider; people sign in with links", field: "org")
            }
            return signInView(org: provider.org, issuer: provider.issuer, clientID: provider.clientID)
        }
        group.post("/agents") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let project = try OwnerRef(kind: .project, path: try body.string("project"), field: "project")
            let agent = try OwnerRef(kind: .agent, segments: project.segments + [try body.string("id")], field: "id")
            try await store.createOwner(agent, at: clock.now)
            let key = AgentKey.generate()
            try await store.addAgentKey(hash: SecretHash.sha256Hex(key), agent: agent, at: clock.now)
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .ownerCreated, owner: agent))
            return APIResponse.json(JSONValue.object(["owner": .string(agent.description), "api_key": .string(key)]), status: .created)
        }
        // A new key for an agent (the old ones keep working until revoked), and revocation of all its keys.
        group.post("/agents/:org/:team/:project/:agent/keys") { _, context in
            let agent = try agentRef(context)
            guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
            let key = AgentKey.generate()
            try await store.addAgentKey(hash: SecretHash.sha256Hex(key), agent: agent, at: clock.now)
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .agentKeyCreated, owner: agent))
            return APIResponse.json(JSONValue.object(["owner": .string(agent.description), "api_key": .string(key)]), status: .created)
        }
        group.delete("/agents/:org/:team/:project/:agent/keys") { _, context in
            let agent = try agentRef(context)
            let count = try await store.revokeAgentKeys(agent: agent, at: clock.now)
            agentKeys.clear()
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .agentKeysRevoked, owner: agent, detail: "\(count)"))
            return APIResponse.json(JSONValue.object(["owner": .string(agent.description), "revoked": .number(Double(count))]))
        }
        group.put("/agents/:org/:team/:project/:agent/grants") { request, context in
            let agent = try agentRef(context)
            guard try await store.ownerExists(agent) else { throw LatchkeyError(.notFound, "\(agent) does not exist", field: "agent") }
            let body = try await JSONBody.read(request, limit: limit)
            guard let tools = try body.stringList("tools") else { throw LatchkeyError(.invalidRequest, "tools: required", field: "tools") }
            let sorted = try await grants.set(agent: agent, tools: tools, actor: .admin)
            return APIResponse.json(["agent": AnyEncodable(agent.description), "tools": AnyEncodable(sorted)])
        }
        group.get("/agents/:org/:team/:project/:agent/grants") { _, context in
            let agent = try agentRef(context)
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
        group.put("/apps/:provider") { request, context in
            let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
            let body = try await JSONBody.read(request, limit: limit)
            let owner = try body.owner()
            guard try await store.ownerExists(owner) else { throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner") }
            guard manifest.auth.oauth2 != nil else {
                throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) does not use OAuth apps", field: "provider")
            }
            let scopes = try body.stringList("scopes") ?? []
            try await apps.put(
                provider: manifest.id, owner: owner, clientID: try body.string("client_id"),
                clientSecret: try body.optionalString("client_secret"), scopes: scopes)
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .appRegistered, owner: owner, provider: manifest.id))
            return APIResponse.json(JSONValue.object([
                "provider": .string(manifest.id.rawValue), "owner": .string(owner.description),
                "scopes": .array(scopes.map(JSONValue.string)), "redirect_uri": .string(settings.callbackURL),
            ]))
        }
        // Creates an API-key (or basic) connection directly, for scripts; the key is checked at the identity URL.
        group.post("/connections") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let manifest = try catalog.manifest(try body.string("provider"))
            let owner = try body.owner()
            guard try await store.ownerExists(owner) else { throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner") }
            let flow = connectFlow
            let config = try flow.validatedConfig(manifest, try body.stringMap("config"))
            let credential: Credential
            let identity: IdentitySpec?
            switch manifest.auth {
            case .apiKey(let spec):
                credential = Credential(apiKey: try body.string("api_key"))
                identity = spec.identity
            case .basic(let spec):
                credential = Credential(username: try body.string("username"), password: try body.optionalString("password") ?? "")
                identity = spec.identity
            default:
                throw LatchkeyError(
                    .invalidRequest, "provider: \(manifest.id) uses \(manifest.auth.mode); only api_key and basic providers take a key here",
                    field: "provider")
            }
            let connection = try await flow.saveKey(
                manifest: manifest, owner: owner, reconnect: nil, credential: credential, identity: identity, config: config,
                actor: .admin, claim: { _ in true })
            return APIResponse.json(ConnectionView(connection), status: .created)
        }
        // A forced refresh, now, whatever the token's expiry.
        group.post("/connections/:id/refresh") { _, context in
            let stored = try await connections.visibleConnection(context.parameters.get("id") ?? "", caller: .admin)
            let connection = try await forcedRefresh.run(stored)
            return APIResponse.json(ConnectionView(connection))
        }
        // Revokes one connection at the provider and destroys its credential.
        group.post("/connections/:id/revoke") { _, context in
            let service = connections
            let stored = try await service.visibleConnection(context.parameters.get("id") ?? "", caller: .admin)
            return APIResponse.json(ConnectionView(try await service.remove(stored, actor: .admin)))
        }
        // Revokes everything under an owner: /v1/admin/owners/{owner ref}/revoke, the reference percent-encoded or not.
        group.post("/owners/**") { request, _ in
            let prefix = "/v1/admin/owners/"
            let path = request.uri.path
            guard path.hasPrefix(prefix), path.hasSuffix("/revoke") else {
                throw LatchkeyError(.notFound, "no route for POST \(path.prefix(100))")
            }
            let raw = FormEncoding.percentDecode(Substring(path.dropFirst(prefix.count).dropLast("/revoke".count)))
            let owner = try OwnerRef(parsing: raw, field: "owner")
            guard try await store.ownerExists(owner) else { throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner") }
            let result = try await connections.revokeOwner(owner, actor: .admin)
            return APIResponse.json([
                "owner": AnyEncodable(owner.description), "connections_revoked": AnyEncodable(result.connections),
                "agent_keys_revoked": AnyEncodable(result.agentKeys),
            ])
        }
        group.get("/connections") { request, _ in
            let owner = try request.queryValue("owner").map { try OwnerRef(parsing: $0) }
            let provider = request.queryValue("provider").map { ProviderID($0) }
            var state: ConnectionState?
            if let raw = request.queryValue("state") {
                guard let s = ConnectionState(rawValue: raw) else {
                    throw LatchkeyError(.invalidRequest, "state: '\(raw.prefix(30))' is not a connection state", field: "state")
                }
                state = s
            }
            let list = try await store.allConnections(ownerPrefix: owner, provider: provider, state: state)
            return APIResponse.json(["connections": list.map(ConnectionView.init)])
        }
        group.get("/audit") { request, _ in
            let query = try AuditQueryParameters.read(request)
            let events = try await store.events(query)
            var body: [String: AnyEncodable] = ["events": AnyEncodable(events)]
            // A full page may have more below it: `before` continues the listing.
            if events.count == query.limit, let last = events.last?.id { body["next_before"] = AnyEncodable(last) }
            return APIResponse.json(body)
        }
    }

    func signInView(org: String, issuer: String, clientID: String) -> Response {
        APIResponse.json(JSONValue.object([
            "org": .string(org), "issuer": .string(issuer), "client_id": .string(clientID),
            "redirect_uri": .string(settings.publicURL + "/me/oidc/callback"),
        ]))
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

    func createOwner(_ owner: OwnerRef) async throws -> Response {
        try await store.createOwner(owner, at: clock.now)
        await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .ownerCreated, owner: owner))
        return APIResponse.json(JSONValue.object(["owner": .string(owner.description)]), status: .created)
    }

    func agentRef(_ context: AdminContext) throws(LatchkeyError) -> OwnerRef {
        let parts = ["org", "team", "project", "agent"].map { context.parameters.get($0) ?? "" }
        return try OwnerRef(kind: .agent, segments: parts, field: "agent")
    }
}
