import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// The platform owner and orgs' credential choices in the store contract, on every available engine.
@Suite("Credential choice store contract")
struct CredentialChoiceStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func choice(_ org: String, _ provider: ProviderID, _ credentials: CredentialSource, agents: Bool = false, at seconds: TimeInterval = 0)
        -> CredentialChoice
    {
        CredentialChoice(
            org: org, provider: provider, credentials: credentials, agentsMayChoose: agents,
            updatedAt: Date(timeIntervalSince1970: now.timeIntervalSince1970 + seconds))
    }

    @Test(arguments: StoreEngine.available) func thePlatformExistsFromTheStartAndOwnsKeysLikeAnyOwner(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.ownerExists(.platform))
        // It is no org: an org of that name is another owner, and the platform lists under no org.
        #expect(try await !store.ownerExists(try OwnerRef(parsing: "org:platform")))
        try await store.createOwner(try OwnerRef(parsing: "org:platform"), at: now)
        #expect(try await store.owners(kind: .org, org: "platform") == [try OwnerRef(parsing: "org:platform")])
        try await store.createOwner(try OwnerRef(parsing: "org:acme"), at: now)
        try await store.createOwner(try OwnerRef(parsing: "team:acme/growth"), at: now)
        #expect(try await store.orgNames() == ["acme", "platform"])
        await #expect(throws: LatchkeyError.self) { try await store.createOwner(.platform, at: now) }

        try await store.putApp(AppRegistration(
            provider: "github", owner: .platform, clientID: "managed", sealedClientSecret: [9, 9], scopes: ["repo"], updatedAt: now))
        #expect(try await store.apps(provider: "github", owners: [.platform]).map(\.clientID) == ["managed"])
        #expect(try await store.apps(provider: "github", owners: [try OwnerRef(parsing: "org:platform")]).isEmpty)
        #expect(try await store.allApps(owner: .platform).map(\.owner) == [.platform])
    }

    @Test(arguments: StoreEngine.available) func aChoiceIsReplacedPerOrgAndProviderAndListedByProvider(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.credentialChoice(org: "acme", provider: "brave-search") == nil)
        try await store.putCredentialChoice(choice("acme", "brave-search", .managed, at: 0.25))
        try await store.putCredentialChoice(choice("acme", "airtable", .own, agents: true, at: 1.5))
        try await store.putCredentialChoice(choice("globex", "brave-search", .own))
        #expect(try await store.credentialChoice(org: "acme", provider: "brave-search") == choice("acme", "brave-search", .managed, at: 0.25))
        try await store.putCredentialChoice(choice("acme", "brave-search", .own, agents: true, at: 7))
        #expect(try await store.credentialChoices(org: "acme") == [
            choice("acme", "airtable", .own, agents: true, at: 1.5), choice("acme", "brave-search", .own, agents: true, at: 7),
        ])
        #expect(try await store.credentialChoices(org: "globex") == [choice("globex", "brave-search", .own)])
        #expect(try await store.credentialChoices(org: "").isEmpty)
    }

    @Test(arguments: StoreEngine.sql) func theMigrationsAreVersions14To16(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await Array(store.appliedMigrations().dropFirst(13).prefix(3)) == [
            "v14: the platform owner and orgs' credential choices", "v15: connections made on the platform's app",
            "v16: usage per day, managed or own",
        ])
    }

    /// Another program writes a source that is neither managed nor own: that org's read fails, never another's.
    @Test(arguments: StoreEngine.sql) func aDamagedChoiceFailsItsOwnReadOnly(_ engine: StoreEngine) async throws {
        let store = try await engine.makeRawSQLStore()
        try await store.putCredentialChoice(choice("acme", "brave-search", .managed))
        try await store.putCredentialChoice(choice("globex", "brave-search", .own))
        try await store.executeRaw("UPDATE credential_choices SET credentials = 'borrowed' WHERE org = 'acme'")
        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.credentialChoice(org: "acme", provider: "brave-search") }
        #expect(error?.code == .internalError && error?.message.contains("credentials") == true)
        await #expect(throws: LatchkeyError.self) { _ = try await store.credentialChoices(org: "acme") }
        #expect(try await store.credentialChoices(org: "globex") == [choice("globex", "brave-search", .own)])
    }
}
