import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyConnect
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyStore
import LatchkeyTokens

/// `/v1/admin`: connections: made with a key, listed, refreshed, revoked, and everything under an owner revoked. Admin key only.
struct AdminConnectionRoutes {
    let store: any LatchkeyStorage
    let catalog: ProviderCatalog
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let forcedRefresh: ForcedRefresh
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        // Creates an API-key (or basic) connection directly, for scripts; the key is checked at the identity URL.
        group.post("/connections") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let manifest = try catalog.manifest(try body.string("provider"))
            let owner = try body.owner(platform: true)
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
    }
}
