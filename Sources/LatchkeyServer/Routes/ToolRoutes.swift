import Foundation
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore
import LatchkeyTokens

/// `GET /v1/tools` and `POST /v1/tools/{provider}.{tool}/call`.
///
/// Read tools are available once the integration is active; write tools also need an admin's grant.
struct ToolRoutes {
    let services: LatchkeyServices
    let broker: TokenBroker

    func register(on group: RouterGroup<LatchkeyContext>) {
        group.get("/tools") { _, context in
            let caller = try context.requireCaller()
            return APIResponse.json(["tools": try await ToolCatalog(services: services).available(to: caller)])
        }
        group.post("/tools/:name/call") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONBody.read(request, limit: services.settings.maxJSONBodyBytes)
            let arguments = body.object["arguments"] ?? .object([:])
            guard case .object = arguments else {
                throw LatchkeyError(.invalidRequest, "arguments: must be an object", field: "arguments")
            }
            let result = try await ToolCatalog(services: services).call(
                context.parameters.get("name") ?? "", arguments: arguments, connectionID: try body.optionalString("connection"),
                user: request.headers[.latchkeyUser], caller: caller, broker: broker)
            return APIResponse.json(result)
        }
    }
}

/// Which tools a caller may use, and running one.
struct ToolCatalog: Sendable {
    let services: LatchkeyServices

    struct ToolView: Encodable {
        let name: String
        let provider: String
        let tool: String
        let description: String
        let access: String
        let input: JSONValue
    }

    /// The tools `caller` may call now: those of providers with a usable connection on its chain; write tools
    /// only when granted. An admin sees every tool.
    func available(to caller: Caller) async throws -> [ToolView] {
        func view(_ m: ProviderManifest, _ t: ToolSpec) -> ToolView {
            ToolView(name: "\(m.id).\(t.name)", provider: m.id.rawValue, tool: t.name, description: t.description, access: t.access.rawValue, input: t.input)
        }
        guard case .agent(let agent) = caller else {
            return services.catalog.sorted.flatMap { m in m.tools.map { view(m, $0) } }
        }
        let usable = try await services.store.connections(owners: agent.inheritanceChain, provider: nil)
            .filter { $0.state == .active || $0.state == .error }
        let providers = Set(usable.map(\.provider))
        let grants = try await services.store.grants(agent: agent)
        return services.catalog.sorted.filter { providers.contains($0.id) }.flatMap { m in
            m.tools.filter { $0.access == .read || grants.contains("\(m.id).\($0.name)") }.map { view(m, $0) }
        }
    }

    /// Parses `provider.tool`.
    func lookup(_ name: String) throws(LatchkeyError) -> (ProviderManifest, ToolSpec) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let manifest = services.catalog.manifests[ProviderID(parts[0])], let tool = manifest.tool(named: parts[1]) else {
            throw LatchkeyError(.notFound, "tool: no tool '\(name.prefix(80))' (expected provider.tool)", field: "tool")
        }
        return (manifest, tool)
    }

    /// Runs a tool: checks the grant, validates the arguments, resolves the connection and calls the provider.
    func call(
        _ name: String, arguments: JSONValue, connectionID: String?, user: String?, caller: Caller, broker: TokenBroker
    ) async throws -> JSONValue {
        let (manifest, tool) = try lookup(name)
        if tool.access == .write, case .agent(let agent) = caller {
            guard try await services.store.grants(agent: agent).contains("\(manifest.id).\(tool.name)") else {
                throw LatchkeyError(.toolNotGranted, "tool: \(manifest.id).\(tool.name) writes, and no admin has granted it to \(agent)", field: "tool")
            }
        }
        var args = arguments
        if case .object(var object) = args {
            object.removeValue(forKey: "connection")
            args = .object(object)
        }
        let request = try ToolRequest(tool: tool, arguments: args)
        let stored = try await ConnectionResolver(services: services).resolve(
            caller: caller, provider: manifest.id, connectionID: connectionID ?? arguments.objectValue?["connection"]?.stringValue, user: user)
        let response = try await ProxyService(services: services, broker: broker).send(
            ProxyService.Call(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                body: request.body.map { .bytes($0) } ?? .none,
                retries: RetryPolicy(), fromTool: true),
            manifest: manifest, stored: stored, caller: caller)
        let result = JSONValue.parse(response.body) ?? .string(String(decoding: response.body, as: UTF8.self))
        return .object([
            "status": .number(Double(response.status)), "result": result, "connection": .string(stored.connection.id.rawValue),
        ])
    }
}
