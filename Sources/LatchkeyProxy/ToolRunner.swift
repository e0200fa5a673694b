import Foundation
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyManifest
import LatchkeyModel
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

    public init(
        catalog: ProviderCatalog, store: any ConnectionStore, resolver: ConnectionResolver, proxy: ProxyService, access: AccessGuard,
        approvals: any ApprovalFiling
    ) {
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
        /// The provider's answer: JSON when it sent JSON, else its text.
        public var result: JSONValue
        public var connection: ConnectionID

        /// Whether the provider answered with a 2xx status.
        public var succeeded: Bool { (200..<300).contains(status) }

        /// `{"status", "result", "connection"}`, as the agents' API answers.
        public var json: JSONValue {
            .object(["status": .number(Double(status)), "result": result, "connection": .string(connection.rawValue)])
        }
    }

    /// The tools `caller` may call now: those of providers with a usable connection on its chain that its grants
    /// and its org's policy allow on one of those connections (write tools only when granted), each saying whether it
    /// waits for approval. An admin sees every tool.
    public func available(to caller: Caller) async throws -> [ToolView] {
        func view(_ m: ProviderManifest, _ t: ToolSpec, _ approval: Grant.Approval) -> ToolView {
            let waits = approval == .eachCall || t.approval == .eachCall
            return ToolView(
                name: "\(m.id).\(t.name)", provider: m.id.rawValue, tool: t.name, description: t.description, access: t.access.rawValue,
                approval: waits ? Grant.Approval.eachCall.rawValue : nil, input: t.input)
        }
        guard case .agent(let agent, _, _) = caller else {
            return catalog.sorted.flatMap { m in m.tools.map { view(m, $0, .none) } }
        }
        let usable = try await store.connections(owners: agent.inheritanceChain, provider: nil)
            .filter { $0.state == .active || $0.state == .error }
        let connections = Dictionary(grouping: usable, by: \.provider).mapValues { $0.map(\.id) }
        guard let standing = try await access.standing(of: caller) else { return [] }
        return catalog.sorted.flatMap { m in
            m.tools.compactMap { tool in
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
    /// `approved` says a person approved this very call.
    public func call(
        _ name: String, arguments: JSONValue, connectionID: String?, user: String?, caller: Caller, approved: Bool = false
    ) async throws -> Outcome {
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
}
