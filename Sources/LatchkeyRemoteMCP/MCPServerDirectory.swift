import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// What an admin asks to add: a remote MCP server as a provider.
public struct MCPServerRequest: Sendable, Equatable {
    public var id: String
    public var name: String
    public var url: String
    public var scopes: [String]
    public var tools: ToolFilter

    public init(id: String, name: String, url: String, scopes: [String] = [], tools: ToolFilter = .all) {
        self.id = id
        self.name = name
        self.url = url
        self.scopes = scopes
        self.tools = tools
    }
}

/// The remote MCP servers admins add, kept in the store and known to every replica's catalog.
///
/// Adding one checks its fields, then runs discovery against the server: a server whose metadata is missing,
/// malformed or mismatched is refused with the discovery's error, and nothing is stored. An id a manifest file or
/// another server already uses is 409 `conflict`. Removing one is refused while a connection of it is not revoked.
public struct MCPServerDirectory: Sendable {
    let store: any MCPServerStore & MCPClientStore & ConnectionStore
    let catalog: ProviderCatalog
    let discovery: AuthorizationDiscovery
    let audit: AuditTrail
    let clock: any LatchkeyClock
    let logger: Logger

    public init(
        store: any MCPServerStore & MCPClientStore & ConnectionStore, catalog: ProviderCatalog, discovery: AuthorizationDiscovery, audit: AuditTrail,
        clock: any LatchkeyClock, logger: Logger
    ) {
        self.store = store
        self.catalog = catalog
        self.discovery = discovery
        self.audit = audit
        self.clock = clock
        self.logger = logger
    }

    /// Adds the server that `request` names, once discovery has found how it is authorized, and returns its manifest.
    public func add(_ request: MCPServerRequest) async throws -> ProviderManifest {
        let server = try Self.validated(request, at: clock.now)
        let manifest = Self.manifest(of: server)
        guard catalog.manifests[server.id] == nil else { throw Self.taken(server.id) }
        _ = try await discovery.discover(serverURL: server.url)
        let added = try await store.addMCPServer(server)
        guard added, catalog.addAdminAdded(manifest) else { throw Self.taken(server.id) }
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .mcpServerAdded, owner: nil, provider: server.id, detail: String(server.url.prefix(200))))
        return manifest
    }

    /// The servers admins added, by id.
    public func list() async throws -> [ProviderManifest] {
        try await store.mcpServers().map(Self.manifest(of:))
    }

    /// Removes the server `id`. A manifest file's server cannot be removed here, and one with live connections not yet.
    public func remove(_ id: String) async throws {
        let provider = ProviderID(id)
        if let manifest = catalog.manifests[provider], manifest.origin == .file {
            throw LatchkeyError(.conflict, "id: \(provider) is defined by \(manifest.sourcePath), not by an admin", field: "id")
        }
        let live = try await store.allConnections(ownerPrefix: nil, provider: provider, state: nil).filter { $0.state != .revoked }.count
        guard live == 0 else {
            throw LatchkeyError(.conflict, "id: \(provider) still has \(live) connection(s); revoke them first", field: "id")
        }
        let removed = try await store.deleteMCPServer(id: provider)
        // The clients registered there go with it: a server added again under this id may be another server.
        _ = try await store.deleteMCPClients(provider: provider)
        catalog.removeAdminAdded(provider)
        guard removed else { throw LatchkeyError(.notFound, "id: no MCP server '\(id.prefix(64))' was added by an admin", field: "id") }
        await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .mcpServerRemoved, owner: nil, provider: provider))
    }

    /// Makes this process's catalog hold exactly the stored servers (what another replica added or removed).
    public func sync() async throws {
        let stored = try await store.mcpServers().map(Self.manifest(of:))
        for id in catalog.replaceAdminAdded(with: stored) {
            logger.warning("an admin-added MCP server is hidden by a manifest file of the same id", metadata: ["provider": "\(id)"])
        }
    }

    // MARK: values

    /// The stored form of `request`, each field checked; errors name the field.
    static func validated(_ request: MCPServerRequest, at now: Date) throws(LatchkeyError) -> StoredMCPServer {
        guard ProviderID.isValid(request.id) else {
            throw LatchkeyError(.invalidRequest, "id: '\(request.id.prefix(64))' must match [a-z0-9][a-z0-9_-]{0,62}", field: "id")
        }
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw LatchkeyError(.invalidRequest, "name: must be 1 to 100 characters with no control characters", field: "name")
        }
        if let problem = RemoteMCPSpec.problem(url: request.url) {
            throw LatchkeyError(.invalidRequest, "url: \(problem)", field: "url")
        }
        _ = try ResourceIdentifier(request.url, field: "url")
        guard request.scopes.count <= 50 else { throw LatchkeyError(.invalidRequest, "scopes: at most 50", field: "scopes") }
        for scope in request.scopes where !RemoteMCPSpec.isValidScope(scope) {
            throw LatchkeyError(.invalidRequest, "scopes: '\(scope.prefix(64))' is not a valid OAuth scope token", field: "scopes")
        }
        let (allowed, denied): ([String]?, [String]?) =
            switch request.tools {
            case .all: (nil, nil)
            case .allow(let names): (names, nil)
            case .deny(let names): (nil, names)
            }
        for name in (allowed ?? []) + (denied ?? []) where name.isEmpty || name.utf8.count > 128 {
            throw LatchkeyError(.invalidRequest, "tools: a tool name must be 1 to 128 bytes", field: "tools")
        }
        return StoredMCPServer(
            id: ProviderID(request.id), name: name, url: request.url, scopes: request.scopes, toolsAllowed: allowed,
            toolsDenied: denied, createdAt: now)
    }

    /// The manifest a stored server stands for.
    static func manifest(of server: StoredMCPServer) -> ProviderManifest {
        let tools: ToolFilter = server.toolsAllowed.map(ToolFilter.allow) ?? server.toolsDenied.map(ToolFilter.deny) ?? .all
        return .remoteMCP(id: server.id, name: server.name, spec: RemoteMCPSpec(url: server.url, scopes: server.scopes, tools: tools))
    }

    static func taken(_ id: ProviderID) -> LatchkeyError {
        LatchkeyError(.conflict, "id: a provider '\(id)' already exists", field: "id")
    }
}
