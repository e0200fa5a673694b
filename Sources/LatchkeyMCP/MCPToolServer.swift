import Foundation
import LatchkeyAPI
import LatchkeyApprovals
import LatchkeyConnect
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRemoteMCP
import LatchkeyStore
import MCP

/// The MCP server a session talks to: the agent's granted tools on its active connections, named `{provider}_{tool}`,
/// and the management tools that let an agent set itself up. One value serves every agent; each call names its agent.
public struct MCPToolServer: Sendable {
    let tools: ToolRunner
    let catalog: ProviderCatalog
    let connections: ConnectionService
    let connectFlow: ConnectFlow
    let store: any ConnectionStore
    /// Follows the calls that wait for approval.
    let approvals: ApprovalDesk

    public init(
        tools: ToolRunner, catalog: ProviderCatalog, connections: ConnectionService, connectFlow: ConnectFlow, store: any ConnectionStore,
        approvals: ApprovalDesk
    ) {
        self.tools = tools
        self.catalog = catalog
        self.connections = connections
        self.connectFlow = connectFlow
        self.store = store
        self.approvals = approvals
    }

    static let managementTools: [Tool] = [
        Tool(
            name: "latchkey_list_providers", description: "List the providers Latchkey can connect, with their auth mode and tools.",
            inputSchema: .object(["type": "object", "properties": .object([:])]),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "latchkey_install", description: "Install a provider for this agent. A person then connects it through a connect link.",
            inputSchema: .object([
                "type": "object", "required": .array(["provider"]),
                "properties": .object(["provider": .object(["type": "string", "description": "A provider id from latchkey_list_providers."])]),
            ])),
        Tool(
            name: "latchkey_connect_link",
            description: "Create a single-use link (valid 15 minutes) that a person opens to connect their account to a provider.",
            inputSchema: .object([
                "type": "object", "required": .array(["provider"]),
                "properties": .object([
                    "provider": .object(["type": "string"]),
                    "scopes": .object(["type": "array", "items": .object(["type": "string"]), "description": "Extra scopes to ask for."]),
                    "connection_id": .object(["type": "string", "description": "Reconnect this connection instead of adding one."]),
                ]),
            ])),
        Tool(
            name: "latchkey_connections", description: "List the connections this agent can use, with their state and account.",
            inputSchema: .object(["type": "object", "properties": .object([:])]),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "latchkey_approval",
            description: "Follow a call that waits for a person's approval: its state, and once approved, the call's result.",
            inputSchema: .object([
                "type": "object", "required": .array(["id"]),
                "properties": .object([
                    "id": .object(["type": "string", "description": "The approval id (apr_...) a tool call answered with."]),
                    "wait": .object(["type": "integer", "minimum": 0, "maximum": 30, "description": "Seconds to wait for a decision."]),
                ]),
            ]),
            annotations: .init(readOnlyHint: true)),
    ]

    /// A configured SDK server for one session of `caller` (an agent, maybe held to a narrowed key).
    func makeServer(for caller: Caller) async -> Server {
        let server = Server(
            name: "latchkey", version: "0.1.0", title: "Latchkey",
            instructions: "Tools of the accounts people connected for this agent. Use latchkey_connect_link to ask a person to connect one.",
            capabilities: .init(tools: .init(listChanged: true)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: try await tools(for: caller))
        }
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            // A client that asked for progress (a token in `_meta`) gets a remote server's progress, under its token;
            // the session's server is held only while the call runs.
            let session = server
            let onProgress: (@Sendable (ToolProgress) async -> Void)? = params._meta?.progressToken.map { token in
                { step in
                    try? await session?.notify(
                        ProgressNotification.message(.init(progressToken: token, progress: step.progress, total: step.total, message: step.message)))
                }
            }
            return await call(
                params.name, arguments: JSONValue.object((params.arguments ?? [:]).mapValues(JSONValue.init(mcp:))), caller: caller,
                onProgress: onProgress)
        }
        return server
    }

    /// The agent's tools now, then the management tools.
    func tools(for caller: Caller) async throws -> [Tool] {
        let available = try await tools.available(to: caller)
        return available.map { t in
            Tool(
                name: "\(t.provider)_\(t.tool)",
                description: t.approval == nil ? t.description : t.description + " Each call waits for a person's approval.",
                inputSchema: t.input.mcpValue,
                annotations: .init(readOnlyHint: t.access == "read", destructiveHint: t.access == "write" ? true : nil))
        } + Self.managementTools
    }

    /// Runs a tool; every failure is an MCP tool error with a readable message, never a protocol error.
    func call(
        _ name: String, arguments: JSONValue, caller: Caller, onProgress: (@Sendable (ToolProgress) async -> Void)? = nil
    ) async -> CallTool.Result {
        do {
            guard case .agent(let agent, let scope, _) = caller else { throw LatchkeyError(.forbidden, "/mcp serves agents") }
            let result: JSONValue
            switch name {
            case "latchkey_list_providers":
                result = .array(catalog.sorted.map { m in
                    .object([
                        "id": .string(m.id.rawValue), "name": .string(m.name), "auth_mode": .string(m.auth.mode),
                        "tools": .array(m.tools.map { .string($0.name) }),
                    ])
                })
            case "latchkey_install" where scope != nil, "latchkey_connect_link" where scope != nil:
                throw LatchkeyError(.forbidden, "\(name): a narrowed key only calls what it was granted; install and connect with the agent's own key")
            case "latchkey_install":
                let manifest = try catalog.manifest(try string(arguments, "provider"))
                let (connection, _) = try await connections.install(provider: manifest, owner: agent, actor: caller)
                result = .object(["connection_id": .string(connection.id.rawValue), "state": .string(connection.state.rawValue)])
            case "latchkey_connect_link":
                let manifest = try catalog.manifest(try string(arguments, "provider"))
                let scopes = arguments.objectValue?["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let link = try await connectFlow.createSession(
                    provider: manifest, owner: agent, reconnect: arguments.objectValue?["connection_id"]?.stringValue,
                    extraScopes: scopes, returnTo: nil, caller: caller)
                result = .object([
                    "url": .string(link.url), "expires_at": .string(ISO8601DateFormatter().string(from: link.expiresAt)),
                    "instructions": .string("Send this link to the person whose \(manifest.name) account should be connected."),
                ])
            case "latchkey_approval":
                let wait = arguments.objectValue?["wait"]?.numberValue.map { max(0, min(30, Int($0))) } ?? 0
                switch try await approvals.poll(try string(arguments, "id"), caller: caller, wait: .seconds(wait)) {
                case .waiting(let view):
                    let text = "\(view.id) is \(view.state): \(view.summary) still waits for a person at \(view.url). Ask again later."
                    return CallTool.Result(
                        content: [.text(text: text, annotations: nil, _meta: nil)],
                        structuredContent: Optional<MCP.Value>.some(try JSONValue.encoding(view).mcpValue), isError: false)
                case .done(_, let answer):
                    let status = answer.objectValue?["status"]?.numberValue ?? 0
                    let shown = answer.objectValue?["result"] ?? answer.objectValue?["body"] ?? answer
                    return CallTool.Result(
                        content: [.text(text: shown.text, annotations: nil, _meta: nil)],
                        structuredContent: Optional<MCP.Value>.some(answer.mcpValue), isError: !(200..<300).contains(Int(status)))
                }
            case "latchkey_connections":
                // The same shape as `GET /v1/connections` answers.
                let list = try await store.connections(owners: agent.inheritanceChain, provider: nil).filter { $0.state != .revoked }
                result = try JSONValue.encoding(list.map(ConnectionView.init))
            default:
                let toolName = try providerTool(name)
                let outcome = try await tools.call(
                    toolName, arguments: arguments, connectionID: nil, user: nil, caller: caller, onProgress: onProgress)
                // A remote MCP server's result goes back as it came: its content types, isError and structured content.
                if outcome.isMCPResult, let passed = try? JSONDecoder().decode(CallTool.Result.self, from: Data(outcome.result.serialized())) {
                    return passed
                }
                return CallTool.Result(
                    content: [.text(text: outcome.result.text, annotations: nil, _meta: nil)],
                    structuredContent: Optional<MCP.Value>.some(outcome.json.mcpValue), isError: !outcome.succeeded)
            }
            return CallTool.Result(content: [.text(text: result.text, annotations: nil, _meta: nil)], structuredContent: nil, isError: false)
        } catch let error as LatchkeyError {
            if let approval = error.approval { return Self.waitsForApproval(approval, error) }
            var text = "\(error.code.rawValue): \(error.message)"
            if let url = error.connectURL ?? error.consentURL { text += " \(url)" }
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: true)
        } catch {
            return CallTool.Result(content: [.text(text: "internal_error: the tool failed", annotations: nil, _meta: nil)], isError: true)
        }
    }

    /// A call held for approval, in words an agent can relay, with the approval as structured content. It is not an
    /// error: the call will run once a person approves it.
    static func waitsForApproval(_ approval: ApprovalTicket, _ error: LatchkeyError) -> CallTool.Result {
        let expires = ISO8601DateFormatter().string(from: approval.expiresAt)
        let text = """
            approval_required: this call waits for a person's approval (\(approval.id)). Ask them to approve it at \(approval.url) \
            before \(expires). Then call latchkey_approval with {"id": "\(approval.id)"} to get the result.
            """
        let structured = JSONValue.object([
            "approval": .object(["id": .string(approval.id), "url": .string(approval.url), "expires_at": .string(expires)]),
            "error": .object(["code": .string(error.code.rawValue), "message": .string(error.message)]),
        ])
        return CallTool.Result(
            content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: Optional<MCP.Value>.some(structured.mcpValue),
            isError: false)
    }

    func string(_ arguments: JSONValue, _ field: String) throws(LatchkeyError) -> String {
        guard let s = arguments.objectValue?[field]?.stringValue, !s.isEmpty else {
            throw LatchkeyError(.invalidRequest, "\(field): required", field: field)
        }
        return s
    }

    /// Maps `{provider}_{tool}` back to `provider.tool`, preferring the longest provider id that fits. A remote MCP
    /// server's tools are its server's to know: the call finds out whether the tool exists.
    func providerTool(_ name: String) throws(LatchkeyError) -> String {
        let manifests = catalog.manifests
        for provider in manifests.keys.sorted(by: { $0.rawValue.count > $1.rawValue.count })
        where name.hasPrefix(provider.rawValue + "_") {
            let tool = String(name.dropFirst(provider.rawValue.count + 1))
            if manifests[provider]?.tool(named: tool) != nil || (manifests[provider]?.kind == .mcp && !tool.isEmpty) {
                return "\(provider).\(tool)"
            }
        }
        throw LatchkeyError(.notFound, "tool: no tool named \(name.prefix(80))", field: "tool")
    }
}
