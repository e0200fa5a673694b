import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Remote MCP servers that admins add, in the store contract, on every available engine.
@Suite("MCP server store contract")
struct MCPServerStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.25)

    func server(_ id: ProviderID, url: String = "https://mcp.example.com/mcp", allowed: [String]? = nil, denied: [String]? = nil)
        -> StoredMCPServer
    {
        StoredMCPServer(
            id: id, name: "Server \(id)", url: url, scopes: ["notes", "read:all"], toolsAllowed: allowed, toolsDenied: denied,
            createdAt: now)
    }

    @Test(arguments: StoreEngine.available) func anIDIsAddedOnceListedByIDAndDeleted(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.mcpServers().isEmpty)
        #expect(try await store.addMCPServer(server("notes", allowed: ["list_notes"])))
        #expect(try await store.addMCPServer(server("atlas", denied: ["delete_page", "drop"])))
        // The id is taken: the second add changes nothing.
        #expect(try await !store.addMCPServer(server("notes", url: "https://evil.example/mcp")))
        #expect(try await store.mcpServers() == [server("atlas", denied: ["delete_page", "drop"]), server("notes", allowed: ["list_notes"])])
        #expect(try await store.deleteMCPServer(id: "notes"))
        #expect(try await !store.deleteMCPServer(id: "notes"))
        #expect(try await store.mcpServers().map(\.id) == ["atlas"])
        #expect(try await store.addMCPServer(server("notes")))
        #expect(try await store.mcpServers().last == server("notes"))
    }

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion17(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().dropFirst(16).first == "v17: remote MCP servers added by admins")
    }

    /// Another program writes scopes that are not a JSON list: the listing fails naming the column.
    @Test(arguments: StoreEngine.sql) func aDamagedRowFailsTheListingNamingTheColumn(_ engine: StoreEngine) async throws {
        let store = try await engine.makeRawSQLStore()
        #expect(try await store.addMCPServer(server("notes")))
        try await store.executeRaw("UPDATE mcp_servers SET scopes = 'notes' WHERE id = 'notes'")
        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.mcpServers() }
        #expect(error?.code == .internalError && error?.message.contains("scopes") == true)
    }
}
