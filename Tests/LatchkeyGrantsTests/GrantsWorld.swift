import Foundation
import LatchkeyGrants
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import Logging

/// Org `acme` with team `growth`, project `growth/crm`, agent `growth/crm/scout`, and team `ops` with agent
/// `ops/infra/bot`, in a memory store; the provider `gh` with a read tool `list_issues` and a write tool
/// `create_issue`; the grant directory and access guard over them, on a manual clock.
struct GrantsWorld {
    let store = MemoryStore()
    let clock = ManualClock()
    let toolsChanged = WakeSignal()
    let catalog: ProviderCatalog
    let directory: GrantDirectory
    let access: AccessGuard
    let org = try! OwnerRef(parsing: "org:acme")
    let team = try! OwnerRef(parsing: "team:acme/growth")
    let project = try! OwnerRef(parsing: "project:acme/growth/crm")
    let scout = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")
    let bot = try! OwnerRef(parsing: "agent:acme/ops/infra/bot")

    static let manifest = """
        id: gh
        name: GH
        docs: https://docs.example.test
        categories: [testing]
        auth:
          mode: api_key
          api_key: {label: Token}
        proxy:
          base_url: https://api.example.test
          inject: {header: Authorization, format: "Bearer {api_key}"}
        tools:
          - name: list_issues
            description: Lists issues.
            access: read
            request: {method: GET, path: /issues}
            input: {type: object, properties: {}}
          - name: create_issue
            description: Opens an issue.
            access: write
            request: {method: POST, path: /issues}
            input: {type: object, properties: {}}
        """

    init() async throws {
        let manifest = try ManifestParser.parse(yaml: Self.manifest, file: "gh.yaml", expectedID: "gh").get()
        catalog = ProviderCatalog([manifest.id: manifest])
        let audit = AuditTrail(store: store, logger: Logger(label: "test"))
        // As the server composes them: the guard keeps standings for a second, and the directory forgets them at each change.
        let standings = StandingCache(clock: clock)
        directory = GrantDirectory(
            store: store, clock: clock, audit: audit, catalog: catalog, toolsChanged: toolsChanged, standings: standings)
        access = AccessGuard(store: store, clock: clock, cache: standings)
        for ref in [
            "org:acme", "team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout", "team:acme/ops", "project:acme/ops/infra",
            "agent:acme/ops/infra/bot",
        ] {
            try await store.createOwner(try OwnerRef(parsing: ref), at: clock.now)
        }
        try await store.addAgentKey(hash: Self.scoutKeyHash, agent: scout, at: clock.now)
    }

    /// The hash of scout's own key.
    static let scoutKeyHash = String(repeating: "a", count: 64)

    /// Reads `json` as a `PUT .../grants` body.
    func grants(_ json: String) throws -> [Grant] {
        try directory.read(JSONValue.parse(Array(json.utf8)) ?? .null)
    }

    /// The error `body` throws, as a LatchkeyError.
    static func refusal(_ body: () async throws -> Void) async -> LatchkeyError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? LatchkeyError
        }
    }
}
