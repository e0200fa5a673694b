import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Capability grants and org access policies in the store contract, on every available engine.
@Suite("Capability grant store contract")
struct CapabilityGrantStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let version11 = "v11: capability grants and org access policies"

    func ref(_ s: String) -> OwnerRef { try! OwnerRef(parsing: s) }

    var org: OwnerRef { ref("org:acme") }
    var team: OwnerRef { ref("team:acme/growth") }
    var project: OwnerRef { ref("project:acme/growth/crm") }
    var scout: OwnerRef { ref("agent:acme/growth/crm/scout") }
    var ranger: OwnerRef { ref("agent:acme/growth/crm/ranger") }

    /// One org down to two agents, and a second org.
    func seedOwners(_ store: any LatchkeyStorage) async throws {
        for owner in [org, team, project, scout, ranger, ref("org:globex")] {
            try await store.createOwner(owner, at: now)
        }
    }

    /// A tool grant, bound to a connection, approved at each call and expiring a day from now.
    var toolGrant: StoredGrant {
        StoredGrant(
            provider: "slack", tools: ["post_message", "add_reaction"], connection: ConnectionID(rawValue: "conn_slack"),
            expiresAt: now.addingTimeInterval(86_400), approval: "each_call")
    }

    /// A proxy grant: two methods on two path patterns, with neither connection nor expiry.
    var proxyGrant: StoredGrant {
        StoredGrant(provider: "github", methods: ["GET", "POST"], paths: ["/repos/acme/*", "/user"])
    }

    // MARK: Grants

    @Test(arguments: StoreEngine.available) func toolAndProxyGrantsComeBackAsTheyWereSet(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        try await store.replaceGrants(owner: scout, [toolGrant, proxyGrant], at: now)
        // Every field, the connection, the expiry to the second and the approval included.
        #expect(try await store.grants(owners: [scout]) == [scout: [toolGrant, proxyGrant]])
    }

    @Test(arguments: StoreEngine.available) func aListComesBackInTheOrderItWasSetIn(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        // Neither alphabetical by provider nor by tool: only the order of setting explains the answer.
        let list = ["slack", "github", "linear", "asana", "zendesk", "box", "notion", "jira", "figma", "dropbox", "hubspot", "calendly"]
            .enumerated().map { i, provider in StoredGrant(provider: ProviderID(provider), tools: ["tool\(11 - i)"]) }
        try await store.replaceGrants(owner: scout, list, at: now)
        #expect(try await store.grants(owners: [scout])[scout] == list)
    }

    @Test(arguments: StoreEngine.available) func replacingReplacesTheWholeListAndAnEmptyListClearsIt(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        try await store.replaceGrants(owner: scout, [toolGrant, proxyGrant], at: now)
        try await store.replaceGrants(owner: ranger, [toolGrant], at: now)

        let narrower = StoredGrant(provider: "linear", tools: ["create_issue"])
        try await store.replaceGrants(owner: scout, [narrower], at: now.addingTimeInterval(60))
        #expect(try await store.grants(owners: [scout, ranger]) == [scout: [narrower], ranger: [toolGrant]])

        try await store.replaceGrants(owner: scout, [], at: now.addingTimeInterval(120))
        #expect(try await store.grants(owners: [scout, ranger]) == [scout: [], ranger: [toolGrant]])
    }

    @Test(arguments: StoreEngine.available) func everyOwnerAskedForIsAnsweredAnEmptyListForOneWithoutGrants(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        try await store.replaceGrants(owner: project, [proxyGrant], at: now)
        let stranger = ref("agent:acme/growth/crm/nobody")
        #expect(try await store.grants(owners: [scout, project, team, org, stranger]) == [
            scout: [], project: [proxyGrant], team: [], org: [], stranger: [],
        ])
        #expect(try await store.grants(owners: []) == [:])
    }

    @Test(arguments: StoreEngine.available) func aGrantForAnOwnerThatDoesNotExistIsAConflictAndNothingIsStored(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        let stranger = ref("agent:acme/growth/crm/nobody")
        do {
            try await store.replaceGrants(owner: stranger, [toolGrant, proxyGrant], at: now)
            Issue.record("an owner that does not exist got grants")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict)
        }
        #expect(try await store.grants(owners: [stranger]) == [stranger: []])
        // An empty list names nobody, so it may be set for anyone.
        try await store.replaceGrants(owner: stranger, [], at: now)
    }

    @Test(arguments: StoreEngine.available) func expiredGrantsAreKept(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        let expired = StoredGrant(provider: "slack", tools: ["post_message"], expiresAt: now.addingTimeInterval(-3_600))
        try await store.replaceGrants(owner: scout, [expired, proxyGrant], at: now)
        #expect(try await store.grants(owners: [scout]) == [scout: [expired, proxyGrant]])
    }

    // MARK: Access policies

    @Test(arguments: StoreEngine.available) func anOrgThatNeverSetAPolicyIsOpen(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        #expect(try await store.accessPolicy(org: "acme") == .open)
        #expect(try await store.accessPolicy(org: "nobody") == .open)
    }

    @Test(arguments: StoreEngine.available) func aPolicyIsSetThenOverwrittenForItsOrgAlone(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        let closed = OrgAccessPolicy(readTools: .granted, proxy: .granted)
        try await store.setAccessPolicy(org: "acme", closed, at: now)
        #expect(try await store.accessPolicy(org: "acme") == closed)
        #expect(try await store.accessPolicy(org: "globex") == .open)

        let proxyOnly = OrgAccessPolicy(readTools: .open, proxy: .granted)
        try await store.setAccessPolicy(org: "acme", proxyOnly, at: now.addingTimeInterval(60))
        #expect(try await store.accessPolicy(org: "acme") == proxyOnly)
        try await store.setAccessPolicy(org: "acme", .open, at: now.addingTimeInterval(120))
        #expect(try await store.accessPolicy(org: "acme") == .open)
    }

    @Test(arguments: StoreEngine.available) func aPolicyForAnOrgThatDoesNotExistIsAConflict(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedOwners(store)
        do {
            try await store.setAccessPolicy(org: "nobody", OrgAccessPolicy(readTools: .granted, proxy: .granted), at: now)
            Issue.record("an org that does not exist got a policy")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict)
        }
        // Creating the org later finds no policy left behind.
        try await store.createOwner(ref("org:nobody"), at: now)
        #expect(try await store.accessPolicy(org: "nobody") == .open)
    }

    // MARK: The SQL engines

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion11(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains(version11))
    }

    @Test(arguments: StoreEngine.sql) func migratingToVersion11CopiesEachLegacyWriteToolGrant(_ engine: StoreEngine) async throws {
        let store = try await engine.makeRawSQLStore()
        try await seedOwners(store)
        // Take v11 back (no later migration touches its tables or the legacy one): grants are as v10 left them, in the
        // legacy grants table alone.
        try await store.executeRaw("DROP TABLE capability_grants", "DROP TABLE org_access_policies")
        try await store.forgetMigration(version11)
        #expect(try await !store.appliedMigrations().contains(version11))
        let grantedAt = now.addingTimeInterval(-86_400)
        // The rows v10's API wrote: one per agent and `provider.tool`.
        let legacy = [(scout, "slack.post_message"), (scout, "github.merge_pr"), (scout, "github.create_issue"), (ranger, "linear.create_issue")]
        try await store.executeRaw(legacy.map { "INSERT INTO grants (agent, tool, granted_at) VALUES ('\($0.0)', '\($0.1)', \(grantedAt.timeIntervalSince1970))" })

        try await store.migrate()

        #expect(try await store.appliedMigrations().contains(version11))
        // One grant a legacy row, in tool order, with no connection, no expiry and no approval.
        #expect(try await store.grants(owners: [scout, ranger, project]) == [
            scout: [
                StoredGrant(provider: "github", tools: ["create_issue"]), StoredGrant(provider: "github", tools: ["merge_pr"]),
                StoredGrant(provider: "slack", tools: ["post_message"]),
            ],
            ranger: [StoredGrant(provider: "linear", tools: ["create_issue"])],
            project: [],
        ])
        // The copies are the store's own rows: replacing them works as for any list.
        try await store.replaceGrants(owner: scout, [proxyGrant], at: now)
        #expect(try await store.grants(owners: [scout]) == [scout: [proxyGrant]])
    }

    @Test(arguments: StoreEngine.sql, ["tools", "methods", "paths"])
    func aGrantWhoseListIsNotJSONFailsTheReadOfItsOwnerOnly(_ engine: StoreEngine, column: String) async throws {
        let store = try await engine.makeRawSQLStore()
        try await seedOwners(store)
        try await store.replaceGrants(owner: scout, [toolGrant], at: now)
        try await store.replaceGrants(owner: ranger, [proxyGrant], at: now)
        // Another program writes something that is no list of strings.
        try await store.executeRaw("UPDATE capability_grants SET \(column) = 'not json' WHERE owner = '\(scout)'")

        do {
            _ = try await store.grants(owners: [scout])
            Issue.record("a damaged grant was read as if it were whole")
        } catch let error as LatchkeyError {
            #expect(error.code == .internalError)
            #expect(error.message.contains(column))
        }
        #expect(try await store.grants(owners: [ranger]) == [ranger: [proxyGrant]])
    }

    @Test(arguments: StoreEngine.sql, ["read_tools", "proxy"])
    func aPolicyWhoseOpennessIsUnknownFailsItsRead(_ engine: StoreEngine, column: String) async throws {
        let store = try await engine.makeRawSQLStore()
        try await seedOwners(store)
        try await store.setAccessPolicy(org: "acme", OrgAccessPolicy(readTools: .granted, proxy: .granted), at: now)
        try await store.executeRaw("UPDATE org_access_policies SET \(column) = 'sideways' WHERE org = 'acme'")

        do {
            let policy = try await store.accessPolicy(org: "acme")
            Issue.record("a damaged policy was read as \(policy)")
        } catch let error as LatchkeyError {
            #expect(error.code == .internalError)
            #expect(error.message.contains(column))
        }
    }
}
