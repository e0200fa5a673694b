import Foundation
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRemoteMCP

/// `/v1/admin/mcp-servers`: remote MCP servers as providers. Admins add them here (checked by discovery before
/// anything is stored); the list also shows the servers that manifest files define. Admin key only.
struct AdminMCPServerRoutes {
    let directory: MCPServerDirectory
    let catalog: ProviderCatalog
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        group.get("/mcp-servers") { _, _ in
            APIResponse.json(["mcp_servers": catalog.sorted.filter { $0.kind == .mcp }.map(MCPServerView.init)])
        }
        group.get("/mcp-servers/:id") { _, context in
            let manifest = try catalog.manifest(context.parameters.get("id") ?? "", field: "id")
            guard manifest.kind == .mcp else {
                throw LatchkeyError(.notFound, "id: \(manifest.id) is not a remote MCP server", field: "id")
            }
            return APIResponse.json(MCPServerView(manifest))
        }
        // `{"id", "name", "url", "scopes"?: [...], "tools"?: {"allow": [...]} | {"deny": [...]}}`.
        group.post("/mcp-servers") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let added = try await directory.add(MCPServerRequest(
                id: try body.string("id"), name: try body.string("name"), url: try body.string("url"),
                scopes: try body.stringList("scopes") ?? [], tools: try Self.toolFilter(body)))
            return APIResponse.json(MCPServerView(added), status: .created)
        }
        group.delete("/mcp-servers/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            try await directory.remove(id)
            return APIResponse.json(JSONValue.object(["id": .string(id), "removed": .bool(true)]))
        }
    }

    /// `tools`: absent or null for every tool, else an object with exactly one of `allow` and `deny`.
    static func toolFilter(_ body: JSONBody) throws(LatchkeyError) -> ToolFilter {
        guard let value = body.object["tools"], value != .null else { return .all }
        guard case .object(let filter) = value, filter.count == 1, let (key, list) = filter.first, key == "allow" || key == "deny" else {
            throw LatchkeyError(.invalidRequest, "tools: must be {\"allow\": [...]} or {\"deny\": [...]}", field: "tools")
        }
        let names = try JSONBody(object: filter).stringList(key) ?? []
        return key == "allow" ? .allow(names) : .deny(names)
    }
}

/// A remote MCP server as the admin API shows it.
struct MCPServerView: Encodable {
    let id: String
    let name: String
    let url: String
    let scopes: [String]
    /// `{"allow": [...]}`, `{"deny": [...]}`, or null for every tool.
    let tools: [String: [String]]?
    /// `admin` (added here) or `file` (a manifest).
    let origin: String

    init(_ m: ProviderManifest) {
        id = m.id.rawValue
        name = m.name
        url = m.mcp?.url ?? ""
        scopes = m.mcp?.scopes ?? []
        switch m.mcp?.tools ?? .all {
        case .all: tools = nil
        case .allow(let names): tools = ["allow": names]
        case .deny(let names): tools = ["deny": names]
        }
        origin = m.origin == .admin ? "admin" : "file"
    }

    enum CodingKeys: String, CodingKey { case id, name, url, scopes, tools, origin }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(url, forKey: .url)
        try c.encode(scopes, forKey: .scopes)
        try c.encode(tools, forKey: .tools)
        try c.encode(origin, forKey: .origin)
    }
}
