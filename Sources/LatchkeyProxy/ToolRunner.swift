import Foundation
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRemoteMCP
import LatchkeyStore

/// Which tools a caller may use, and running one.
public struct ToolRunner: Sendable {
    let catalog: ProviderCatalog
    let store: any ConnectionStore
    let resolver: ConnectionResolver
    let proxy: ProxyService
    let access: AccessGuard
    /// Holds calls that wait for a person's approval.
    let approvals: any ApprovalFiling
    /// The tools of remote MCP servers; nil where they are not served.
    let remote: RemoteToolGateway?

    public init(
        catalog: ProviderCatalog, store: any ConnectionStore, resolver: ConnectionResolver, proxy: ProxyService, access: AccessGuard,
        approvals: any ApprovalFiling, remote: RemoteToolGateway? = nil
    ) {
        self.remote = remote
        self.catalog = catalog
        self.store = store
        self.resolver = resolver
        self.proxy = proxy
        self.access = access
        self.approvals = approvals
    }

    /// One tool as `GET /v1/tools` lists it.
    public struct ToolView: Encodable, Sendable {
        public let name: String
        public let provider: String
        public let tool: String
        public let description: String
        public let access: String
        /// `each_call` when a call of the tool waits for a person's approval; absent when it runs at once.
        public let approval: String?
        public let input: JSONValue
    }

    /// What a tool call came to: the provider's status and answer, and the connection it ran on.
    public struct Outcome: Sendable {
        public var status: Int
        /// The provider's answer: JSON when it sent JSON, else its text. For a remote MCP server's tool, its
        /// `tools/call` result as it sent it (`content`, `isError`, `structuredContent`).
        public var result: JSONValue
        public var connection: ConnectionID
        /// Whether `result` is a remote MCP server's tool result, to be passed on to an MCP client as it is.
        public var isMCPResult = false

        /// Whether the provider answered with a 2xx status (and, for a remote MCP tool, without `isError`).
        public var succeeded: Bool { (200..<300).contains(status) && !(isMCPResult && result.objectValue?["isError"] == .bool(true)) }

        /// `{"status", "result", "connection"}`, as the agents' API answers.
        public var json: JSONValue {
            .object(["status": .number(Double(status)), "result": result, "connection": .string(connection.rawValue)])
        }
    }

    /// The tools `caller` may call now: those of providers with a usable connection on its chain that its grants
    /// and its org's policy allow on one of those connections (write tools only when granted), each saying whether it
    /// waits for approval. An admin sees every tool.
    public func available(to caller: Caller) async throws -> [ToolView] {
        func view(_ m: ProviderManifest, _ t: ListedTool, _ approval: Grant.Approval) -> ToolView {
            let waits = approval == .eachCall || t.approval == .eachCall
            return ToolView(
                name: "\(m.id).\(t.name)", provider: m.id.rawValue, tool: t.name, description: t.description, access: t.access.rawValue,
                approval: waits ? Grant.Approval.eachCall.rawValue : nil, input: t.input)
        }
        guard case .agent(let agent, _, _) = caller else {
            return catalog.sorted.flatMap { m in m.tools.map { view(m, ListedTool($0), .none) } }
        }
        let usable = try await store.connections(owners: agent.inheritanceChain, provider: nil)
            .filter { $0.state == .active || $0.state == .error }
        let connections = Dictionary(grouping: usable, by: \.provider).mapValues { $0.map(\.id) }
        guard let standing = try await access.standing(of: caller) else { return [] }
        var remoteTools: [ProviderID: [ListedTool]] = [:]
        for m in catalog.sorted where m.kind == .mcp {
            guard let first = connections[m.id]?.first else { continue }
            remoteTools[m.id] = await self.remoteTools(m, on: first, caller: caller)
        }
        return catalog.sorted.flatMap { m in
            (remoteTools[m.id] ?? m.tools.map(ListedTool.init)).compactMap { tool in
                let decisions = (connections[m.id] ?? []).map { connection in
                    standing.decide(AccessRequest(provider: m.id, kind: .tool(name: tool.name), connection: connection), writes: tool.access == .write)
                }
                // At once when it runs at once on some connection; else with approval, when approval lets it run at all.
                if decisions.contains(.allowed(approval: .none)) { return view(m, tool, .none) }
                return decisions.contains(.allowed(approval: .eachCall)) ? view(m, tool, .eachCall) : nil
            }
        }
    }

    /// Parses `provider.tool`.
    public func lookup(_ name: String) throws(LatchkeyError) -> (ProviderManifest, ToolSpec) { try Self.lookup(name, in: catalog) }

    /// Parses `provider.tool` against `catalog`.
    public static func lookup(_ name: String, in catalog: ProviderCatalog) throws(LatchkeyError) -> (ProviderManifest, ToolSpec) {
        try catalog.tool(named: name)
    }

    /// Runs a tool: validates the arguments, resolves the connection, checks the grant on it and calls the provider.
    /// A call that needs approval (by its grant, or its tool) is filed and answered with `approval_required`, unless
    /// `approved` says a person approved this very call. A remote MCP server's progress on the call goes to
    /// `onProgress` (other tools report none).
    public func call(
        _ name: String, arguments: JSONValue, connectionID: String?, user: String?, caller: Caller, approved: Bool = false,
        onProgress: (@Sendable (ToolProgress) async -> Void)? = nil
    ) async throws -> Outcome {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 2, let manifest = catalog.manifests[ProviderID(parts[0])], manifest.kind == .mcp {
            return try await callRemote(
                manifest, tool: parts[1], arguments: arguments, connectionID: connectionID, user: user, caller: caller, approved: approved,
                onProgress: onProgress)
        }
        let (manifest, tool) = try lookup(name)
        let standing = try await access.standing(of: caller)
        try standing?.requireOnSomeConnection(manifest.id, .tool(name: tool.name), writes: tool.access == .write)
        var args = arguments
        if case .object(var object) = args {
            object.removeValue(forKey: "connection")
            args = .object(object)
        }
        let request = try ToolRequest(tool: tool, arguments: args)
        let stored = try await resolver.resolve(
            caller: caller, provider: manifest.id, connectionID: connectionID ?? arguments.objectValue?["connection"]?.stringValue, user: user)
        let access = AccessRequest(provider: manifest.id, kind: .tool(name: tool.name), connection: stored.connection.id)
        let approval = try standing?.require(access, writes: tool.access == .write) ?? .none
        // Only agents wait: the admin and people approve.
        if !approved, standing != nil, approval == .eachCall || tool.approval == .eachCall {
            let ticket = try await approvals.file(
                .tool(name: "\(manifest.id).\(tool.name)", arguments: arguments), summary: access.summary, connection: stored.connection, caller: caller)
            throw LatchkeyError.approvalRequired(access.summary, ticket)
        }
        let response = try await proxy.send(
            ProxyService.Call(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                body: request.body.map { .bytes($0) } ?? .none,
                // An approved call is sent once: a person approved one call, not its retries.
                retries: approved ? .none : RetryPolicy(), fromTool: true),
            manifest: manifest, stored: stored, caller: caller)
        let result = JSONValue.parse(response.body) ?? .string(String(decoding: response.body, as: UTF8.self))
        return Outcome(status: response.status, result: result, connection: stored.connection.id)
    }

    /// A remote MCP server's tools as the first usable of `connections` lists them, for an admin's eyes (the
    /// dashboard's Available Tools); none when there is no such connection or the server cannot list them now.
    public func remoteTools(of manifest: ProviderManifest, among connections: [Connection]) async -> [ToolView] {
        guard let usable = connections.first(where: { $0.state == .active || $0.state == .error }) else { return [] }
        return await remoteTools(manifest, on: usable.id, caller: .admin).map { tool in
            ToolView(
                name: "\(manifest.id).\(tool.name)", provider: manifest.id.rawValue, tool: tool.name, description: tool.description,
                access: tool.access.rawValue, approval: nil, input: tool.input)
        }
    }

    /// A remote MCP server's tools as tool specs (its `readOnlyHint` a read, anything else a write), as the server
    /// behind `connection` lists them; none when they cannot be listed now (the listing of other tools goes on).
    func remoteTools(_ manifest: ProviderManifest, on connection: ConnectionID, caller: Caller) async -> [ListedTool] {
        guard let remote, let stored = try? await store.connection(id: connection),
            let tools = try? await remote.tools(manifest, on: stored, caller: caller)
        else { return [] }
        return tools.map(ListedTool.init)
    }

    /// A tool as the listing needs it: a manifest's, or a remote MCP server's.
    struct ListedTool {
        var name: String
        var description: String
        var access: ToolSpec.Access
        var approval: ToolSpec.Approval
        var input: JSONValue

        init(_ tool: ToolSpec) {
            (name, description, access, approval, input) = (tool.name, tool.description, tool.access, tool.approval, tool.input)
        }

        init(_ tool: RemoteTool) {
            (name, description, access, approval, input) = (tool.name, tool.description, tool.readOnly ? .read : .write, .none, tool.input)
        }
    }

    /// Runs a remote MCP server's tool: the connection resolved, the tool found in its list, the grant checked
    /// (a write unless the server hints it only reads), approval as for any tool, then `tools/call` upstream.
    func callRemote(
        _ manifest: ProviderManifest, tool name: String, arguments: JSONValue, connectionID: String?, user: String?, caller: Caller,
        approved: Bool, onProgress: (@Sendable (ToolProgress) async -> Void)?
    ) async throws -> Outcome {
        guard let remote else {
            throw LatchkeyError(.notFound, "tool: remote MCP tools are not served here", field: "tool")
        }
        let standing = try await access.standing(of: caller)
        var args = arguments
        if case .object(var object) = args {
            object.removeValue(forKey: "connection")
            args = .object(object)
        }
        let stored = try await resolver.resolve(
            caller: caller, provider: manifest.id, connectionID: connectionID ?? arguments.objectValue?["connection"]?.stringValue, user: user)
        let tool = try await remote.tool(name, of: manifest, on: stored, caller: caller)
        let access = AccessRequest(provider: manifest.id, kind: .tool(name: tool.name), connection: stored.connection.id)
        let approval = try standing?.require(access, writes: !tool.readOnly) ?? .none
        if !approved, standing != nil, approval == .eachCall {
            let ticket = try await approvals.file(
                .tool(name: "\(manifest.id).\(tool.name)", arguments: arguments), summary: access.summary, connection: stored.connection, caller: caller)
            throw LatchkeyError.approvalRequired(access.summary, ticket)
        }
        let result = try await proxy.metered(manifest, stored: stored, caller: caller) {
            try await remote.call(tool, arguments: args, of: manifest, on: stored, caller: caller, onProgress: onProgress)
        }
        return Outcome(status: 200, result: result, connection: stored.connection.id, isMCPResult: true)
    }
}
