import Foundation
import LatchkeyModel

/// A remote MCP server an admin added (`POST /v1/admin/mcp-servers`): a provider kept in the store rather than in a
/// manifest file, so every replica knows it.
public struct StoredMCPServer: Sendable, Equatable {
    public var id: ProviderID
    public var name: String
    /// The server's MCP endpoint.
    public var url: String
    public var scopes: [String]
    /// Only these tools are shown, when set.
    public var toolsAllowed: [String]?
    /// These tools are hidden, when set.
    public var toolsDenied: [String]?
    public var createdAt: Date

    public init(
        id: ProviderID, name: String, url: String, scopes: [String], toolsAllowed: [String]?, toolsDenied: [String]?, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.url = url
        self.scopes = scopes
        self.toolsAllowed = toolsAllowed
        self.toolsDenied = toolsDenied
        self.createdAt = createdAt
    }
}

/// The remote MCP servers admins added.
///
/// Contract: `addMCPServer` stores a new id and returns true, or returns false and changes nothing when the id is
/// taken; `mcpServers` lists them by id; `deleteMCPServer` returns whether there was one. A row that cannot be read
/// fails the listing with `malformed_row` naming the column.
public protocol MCPServerStore: Sendable {
    func addMCPServer(_ server: StoredMCPServer) async throws -> Bool
    func mcpServers() async throws -> [StoredMCPServer]
    func deleteMCPServer(id: ProviderID) async throws -> Bool
}
