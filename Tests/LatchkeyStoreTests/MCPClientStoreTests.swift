import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Clients registered at remote MCP servers, one per server and org, in the store contract on every available engine.
@Suite("MCP client store contract")
struct MCPClientStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.25)

    func client(_ provider: ProviderID, org: String, id: String, secret: [UInt8]? = [1, 2, 3], expires: Date? = nil) -> StoredMCPClient {
        StoredMCPClient(
            provider: provider, org: org, issuer: "https://auth.example.com/", clientID: id, sealedSecret: secret,
            authMethod: secret == nil ? "none" : "client_secret_basic", secretExpiresAt: expires, registeredAt: now)
    }

    @Test(arguments: StoreEngine.available) func theFirstClientOfAServerAndOrgIsKept(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.mcpClient(provider: "notes", org: "acme") == nil)
        #expect(try await store.saveMCPClient(client("notes", org: "acme", id: "c1", expires: now.addingTimeInterval(86_400)), replacing: nil))
        // A second replica that registered at the same moment does not overwrite the first.
        #expect(try await !store.saveMCPClient(client("notes", org: "acme", id: "c2"), replacing: nil))
        #expect(try await store.mcpClient(provider: "notes", org: "acme") == client("notes", org: "acme", id: "c1", expires: now.addingTimeInterval(86_400)))
        // Another org and another server each have their own.
        #expect(try await store.saveMCPClient(client("notes", org: "globex", id: "g1", secret: nil), replacing: nil))
        #expect(try await store.saveMCPClient(client("atlas", org: "acme", id: "a1"), replacing: nil))
        #expect(try await store.mcpClient(provider: "notes", org: "globex") == client("notes", org: "globex", id: "g1", secret: nil))
        #expect(try await store.mcpClient(provider: "atlas", org: "acme")?.clientID == "a1")
    }

    @Test(arguments: StoreEngine.available) func aClientIsReplacedOnlyWhileTheOneReplacedIsStillStored(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.saveMCPClient(client("notes", org: "acme", id: "c1"), replacing: nil))
        #expect(try await store.saveMCPClient(client("notes", org: "acme", id: "c2"), replacing: "c1"))
        // Someone else replaced c1 already: a replacement of c1 changes nothing.
        #expect(try await !store.saveMCPClient(client("notes", org: "acme", id: "c3"), replacing: "c1"))
        #expect(try await store.mcpClient(provider: "notes", org: "acme")?.clientID == "c2")
    }

    @Test(arguments: StoreEngine.available) func aServersClientsGoWithIt(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.saveMCPClient(client("notes", org: "acme", id: "c1"), replacing: nil))
        #expect(try await store.saveMCPClient(client("notes", org: "globex", id: "g1"), replacing: nil))
        #expect(try await store.saveMCPClient(client("atlas", org: "acme", id: "a1"), replacing: nil))
        #expect(try await store.deleteMCPClients(provider: "notes") == 2)
        #expect(try await store.deleteMCPClients(provider: "notes") == 0)
        #expect(try await store.mcpClient(provider: "notes", org: "acme") == nil)
        #expect(try await store.mcpClient(provider: "atlas", org: "acme")?.clientID == "a1")
    }

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion18(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains("v18: clients registered at remote MCP servers"))
    }

    /// SQLite keeps a value of any type in any column: a registration time that is no number fails the read naming it.
    @Test func aDamagedRowFailsTheReadNamingTheColumn() async throws {
        let store = try await StoreEngine.sqlite.makeRawSQLStore()
        #expect(try await store.saveMCPClient(client("notes", org: "acme", id: "c1"), replacing: nil))
        try await store.executeRaw("UPDATE mcp_clients SET registered_at = 'yesterday' WHERE org = 'acme'")
        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.mcpClient(provider: "notes", org: "acme") }
        #expect(error?.message.contains("registered_at") == true)
    }
}
