import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func addMCPServer(_ server: StoredMCPServer) async throws -> Bool {
        let allowed = server.toolsAllowed.map { StoredJSON.encode($0) }
        let denied = server.toolsDenied.map { StoredJSON.encode($0) }
        return try await !execute(
            """
            INSERT INTO mcp_servers (id, name, url, scopes, tools_allowed, tools_denied, created_at)
            VALUES (\(server.id.rawValue), \(server.name), \(server.url), \(StoredJSON.encode(server.scopes)), \(allowed), \(denied),
                \(Self.time(server.createdAt)))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """
        ).isEmpty
    }

    public func mcpServers() async throws -> [StoredMCPServer] {
        try await execute("SELECT * FROM mcp_servers ORDER BY id").map(Self.mcpServer)
    }

    public func deleteMCPServer(id: ProviderID) async throws -> Bool {
        try await !execute("DELETE FROM mcp_servers WHERE id = \(id.rawValue) RETURNING id").isEmpty
    }

    static func mcpServer(_ row: PostgresRandomAccessRow) throws -> StoredMCPServer {
        let allowed: String? = try row.value("tools_allowed")
        let denied: String? = try row.value("tools_denied")
        return StoredMCPServer(
            id: ProviderID(try row.required("id", as: String.self)), name: try row.required("name"), url: try row.required("url"),
            scopes: try StoredJSON.required([String].self, try row.required("scopes", as: String.self), "scopes"),
            toolsAllowed: try allowed.map { text throws(LatchkeyError) in try StoredJSON.required([String].self, text, "tools_allowed") },
            toolsDenied: try denied.map { text throws(LatchkeyError) in try StoredJSON.required([String].self, text, "tools_denied") },
            createdAt: try StoredTime.required(try row.value("created_at"), "created_at"))
    }
}
