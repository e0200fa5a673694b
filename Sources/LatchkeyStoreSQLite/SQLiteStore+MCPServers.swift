import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func addMCPServer(_ server: StoredMCPServer) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO mcp_servers (id, name, url, scopes, tools_allowed, tools_denied, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                    """,
                arguments: [
                    server.id.rawValue, server.name, server.url, StoredJSON.encode(server.scopes),
                    server.toolsAllowed.map { StoredJSON.encode($0) }, server.toolsDenied.map { StoredJSON.encode($0) },
                    Self.time(server.createdAt),
                ])
            return db.changesCount == 1
        }
    }

    public func mcpServers() async throws -> [StoredMCPServer] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM mcp_servers ORDER BY id")).map(Self.mcpServer)
        }
    }

    public func deleteMCPServer(id: ProviderID) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM mcp_servers WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount == 1
        }
    }

    static func mcpServer(_ row: Row) throws -> StoredMCPServer {
        let allowed = try Self.optional(row, "tools_allowed", as: String.self)
        let denied = try Self.optional(row, "tools_denied", as: String.self)
        return StoredMCPServer(
            id: ProviderID(try Self.required(row, "id", as: String.self)), name: try Self.required(row, "name", as: String.self),
            url: try Self.required(row, "url", as: String.self),
            scopes: try StoredJSON.required([String].self, try Self.optional(row, "scopes", as: String.self), "scopes"),
            toolsAllowed: try allowed.map { text throws(LatchkeyError) in try StoredJSON.required([String].self, text, "tools_allowed") },
            toolsDenied: try denied.map { text throws(LatchkeyError) in try StoredJSON.required([String].self, text, "tools_denied") },
            createdAt: try Self.time(row, "created_at"))
    }
}
