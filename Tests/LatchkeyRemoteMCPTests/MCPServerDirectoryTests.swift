import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRemoteMCP
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import Logging
import Testing

/// Admins add remote MCP servers as providers: checked field by field and by discovery before anything is stored,
/// never over another provider's id, and known to every process that shares the store.
@Suite struct MCPServerDirectoryTests {
    static let server = AuthorizationDiscoveryTests.server
    let store = MemoryStore()
    let clock = ManualClock()
    let catalog: ProviderCatalog

    init() throws {
        let github = try ManifestParser.parse(
            yaml: """
                id: github
                name: GitHub
                docs: https://docs.github.com
                kind: mcp
                mcp: {url: "https://api.githubcopilot.com/mcp/"}
                """, file: "github.yaml", expectedID: "github"
        ).get()
        catalog = ProviderCatalog(["github": github])
    }

    /// A server whose discovery succeeds.
    static var goodScript: [String: ScriptedTransport.Answer] {
        [
            server: AuthorizationDiscoveryTests.challenge,
            AuthorizationDiscoveryTests.prmURL: .json(AuthorizationDiscoveryTests.prm()),
            AuthorizationDiscoveryTests.asURL: .json(AuthorizationDiscoveryTests.asMetadata()),
        ]
    }

    func directory(_ script: [String: ScriptedTransport.Answer] = goodScript, catalog: ProviderCatalog? = nil) -> MCPServerDirectory {
        MCPServerDirectory(
            store: store, catalog: catalog ?? self.catalog,
            discovery: AuthorizationDiscovery(transport: ScriptedTransport(script), cache: MetadataCache(), clock: clock),
            audit: AuditTrail(store: store, logger: Logger(label: "test")), clock: clock, logger: Logger(label: "test"))
    }

    func request(_ id: String = "notes", url: String = server, tools: ToolFilter = .allow(["list_notes"])) -> MCPServerRequest {
        MCPServerRequest(id: id, name: "Notes", url: url, scopes: ["tools:read"], tools: tools)
    }

    @Test func anAddedServerIsStoredInTheCatalogAndAudited() async throws {
        let added = try await directory().add(request())
        #expect(added.kind == .mcp && added.origin == .admin && added.auth == .remoteMCP)
        #expect(added.mcp == RemoteMCPSpec(url: Self.server, scopes: ["tools:read"], tools: .allow(["list_notes"])))
        #expect(try catalog.manifest("notes") == added)
        #expect(try await store.mcpServers().map(\.id) == ["notes"])
        #expect(try await directory().list() == [added])
        let events = try await store.events(AuditQuery(limit: 10))
        #expect(events.map(\.action) == [.mcpServerAdded] && events.first?.provider == "notes")
    }

    @Test func aServerWhoseDiscoveryFailsIsRefusedWithThatErrorAndNothingIsStored() async throws {
        var script = Self.goodScript
        script[AuthorizationDiscoveryTests.prmURL] = .json(AuthorizationDiscoveryTests.prm(resource: "https://other.example.com/mcp"))
        let error = await #expect(throws: LatchkeyError.self) { _ = try await directory(script).add(request()) }
        #expect(error?.code == .invalidProviderResponse && error?.field == "resource")
        #expect(try await store.mcpServers().isEmpty)
        #expect(catalog.manifests["notes"] == nil)
        #expect(try await store.events(AuditQuery(limit: 10)).isEmpty)
    }

    @Test(arguments: [
        ("Notes!", Self.server, "id"),
        ("notes", "http://10.1.2.3/mcp", "url"),
        ("notes", "https://u:p@mcp.example.com/mcp", "url"),
        ("notes", "ftp://mcp.example.com/mcp", "url"),
    ])
    func aBadFieldIsNamedBeforeAnyRequestIsMade(id: String, url: String, field: String) async throws {
        let error = await #expect(throws: LatchkeyError.self) { _ = try await directory([:]).add(request(id, url: url)) }
        #expect(error?.code == .invalidRequest && error?.field == field, "\(error?.message ?? "")")
        #expect(try await store.mcpServers().isEmpty)
    }

    @Test func aBadNameScopeOrToolFilterIsNamed() async throws {
        var bad = request()
        bad.name = "  "
        #expect(await fieldOfError(bad) == "name")
        bad = request()
        bad.scopes = ["two words"]
        #expect(await fieldOfError(bad) == "scopes")
        bad = request(tools: .deny([""]))
        #expect(await fieldOfError(bad) == "tools")
    }

    func fieldOfError(_ request: MCPServerRequest) async -> String? {
        do {
            _ = try await directory([:]).add(request)
            return nil
        } catch let error as LatchkeyError {
            return error.field
        } catch {
            return "\(error)"
        }
    }

    @Test func anIDThatAManifestOrAnotherServerUsesIsAConflict() async throws {
        let onFile = await #expect(throws: LatchkeyError.self) { _ = try await directory().add(request("github")) }
        #expect(onFile?.code == .conflict && onFile?.field == "id")
        _ = try await directory().add(request())
        let twice = await #expect(throws: LatchkeyError.self) { _ = try await directory().add(request(url: "https://elsewhere.example/mcp")) }
        #expect(twice?.code == .conflict)
        #expect(try await store.mcpServers().map(\.url) == [Self.server])
    }

    @Test func removingNeedsEveryConnectionRevokedAndNeverTouchesAManifestFile() async throws {
        let directory = directory()
        _ = try await directory.add(request())
        let owner = try OwnerRef(parsing: "org:acme")
        var connection = Connection(id: .random(), provider: "notes", owner: owner, state: .active, createdAt: clock.now, updatedAt: clock.now)
        try await store.insert(connection, sealedCredential: nil)
        let live = await #expect(throws: LatchkeyError.self) { try await directory.remove("notes") }
        #expect(live?.code == .conflict && live?.message.contains("1 connection") == true)
        connection.state = .revoked
        #expect(try await store.update(connection, sealedCredential: nil, expectedVersion: 0))
        try await directory.remove("notes")
        #expect(catalog.manifests["notes"] == nil)
        #expect(try await store.mcpServers().isEmpty)
        let gone = await #expect(throws: LatchkeyError.self) { try await directory.remove("notes") }
        #expect(gone?.code == .notFound)
        let file = await #expect(throws: LatchkeyError.self) { try await directory.remove("github") }
        #expect(file?.code == .conflict && catalog.manifests["github"] != nil)
    }

    @Test func anotherProcessSharingTheStoreLearnsOfAddsAndRemovesAtItsNextSync() async throws {
        let otherCatalog = ProviderCatalog(catalog.manifests)
        let other = directory(catalog: otherCatalog)
        _ = try await directory().add(request())
        #expect(otherCatalog.manifests["notes"] == nil)
        try await other.sync()
        #expect(try otherCatalog.manifest("notes").origin == .admin)
        try await directory().remove("notes")
        try await other.sync()
        #expect(otherCatalog.manifests["notes"] == nil && otherCatalog.manifests["github"] != nil)
    }
}
