import Foundation
import LatchkeyAPI
import LatchkeyConnect
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore

/// `/v1/...` for agents, and for the admin on behalf of any owner: providers, installs, connect links, connections.
struct AgentRoutes {
    let store: any LatchkeyStorage
    let settings: ServerSettings
    let catalog: ProviderCatalog
    let connections: ConnectionService
    let connectFlow: ConnectFlow

    func register(on group: RouterGroup<CallerContext>) {
        let limit = settings.maxJSONBodyBytes
        group.get("/providers") { _, _ in
            APIResponse.json(["providers": catalog.sorted.map(ProviderView.init)])
        }
        group.post("/integrations") { request, context in
            let caller = try context.callerWithOwnKey("installing an integration")
            let body = try await JSONBody.read(request, limit: limit)
            let manifest = try catalog.manifest(try body.string("provider"))
            let owner = try ownerOrSelf(body, caller)
            try connections.authorize(caller, actFor: owner)
            let credentials = try body.optionalString("credentials").map { raw throws(LatchkeyError) in
                try CredentialSource(parsing: raw, field: "credentials")
            }
            let (connection, created) = try await connections.install(provider: manifest, owner: owner, actor: caller, credentials: credentials)
            return APIResponse.json(ConnectionView(connection), status: created ? .created : .ok)
        }
        group.delete("/integrations/:id") { _, context in
            let caller = try context.callerWithOwnKey("removing an integration")
            let stored = try await connections.visibleConnection(context.parameters.get("id") ?? "", caller: caller)
            try connections.authorize(caller, actFor: stored.connection.owner)
            let removed = try await connections.remove(stored, actor: caller)
            return APIResponse.json(ConnectionView(removed))
        }
        group.post("/connect-sessions") { request, context in
            let caller = try context.callerWithOwnKey("creating a connect link")
            let body = try await JSONBody.read(request, limit: limit)
            let manifest = try catalog.manifest(try body.string("provider"))
            let owner = try ownerOrSelf(body, caller)
            if owner.kind == .user, caller != .admin {
                // A user's connection must be finished by that user; an agent cannot vouch for a person.
                throw LatchkeyError(.forbidden, "owner: only an admin may create a connect link for a user", field: "owner")
            }
            let link = try await connectFlow.createSession(
                provider: manifest, owner: owner, reconnect: try body.optionalString("connection_id"),
                extraScopes: try body.stringList("scopes") ?? [], returnTo: try body.optionalString("return_to"), caller: caller)
            return APIResponse.json(SessionView(url: link.url, expires_at: link.expiresAt), status: .created)
        }
        group.get("/connections") { request, context in
            let caller = context.caller
            let provider = request.queryValue("provider").map { ProviderID($0) }
            let list: [Connection]
            if let owners = connections.visibleOwners(for: caller) {
                list = try await store.connections(owners: owners, provider: provider)
            } else {
                let owner = try request.queryValue("owner").map { try OwnerRef(parsing: $0) }
                list = try await store.allConnections(ownerPrefix: owner, provider: provider, state: nil)
            }
            return APIResponse.json(["connections": list.filter { $0.state != .revoked }.map(ConnectionView.init)])
        }
    }

    /// The body's `owner`, or the calling agent when it is omitted.
    func ownerOrSelf(_ body: JSONBody, _ caller: Caller) throws(LatchkeyError) -> OwnerRef {
        if body.object["owner"] != nil { return try body.owner() }
        if case .agent(let agent, _, _) = caller { return agent }
        throw LatchkeyError(.invalidRequest, "owner: required", field: "owner")
    }
}

struct SessionView: Encodable {
    let url: String
    let expires_at: Date
}

/// A manifest as `GET /v1/providers` shows it: what it is and what it can do, with no secrets or internals.
struct ProviderView: Encodable {
    struct Tool: Encodable {
        let name: String
        let description: String
        let access: String
        let input: JSONValue
    }
    let id: String
    let name: String
    let docs: String
    let auth_mode: String
    /// `api`, or `mcp` for a remote MCP server.
    let kind: String
    /// A remote MCP server's endpoint.
    let url: String?
    let scopes: [String]
    let connection_config: [String]
    let metered: Bool
    let credits_per_call: Int?
    let tools: [Tool]

    init(_ m: ProviderManifest) {
        id = m.id.rawValue
        name = m.name
        docs = m.docs
        auth_mode = m.auth.mode
        kind = m.kind.rawValue
        url = m.mcp?.url
        scopes = m.auth.oauth2?.scopes ?? m.mcp?.scopes ?? []
        connection_config = m.connectionConfig.map(\.name)
        if case .metered(let credits) = m.pricing {
            metered = true
            credits_per_call = credits
        } else {
            metered = false
            credits_per_call = nil
        }
        tools = m.tools.map { Tool(name: $0.name, description: $0.description, access: $0.access.rawValue, input: $0.input) }
    }
}
