import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyStore
import Testing

/// The store contract, run against every available engine (``StoreEngine``).
@Suite("Store contract")
struct StoreContractTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)


    func ref(_ s: String) -> OwnerRef { try! OwnerRef(parsing: s) }

    func seedAgent(_ store: any LatchkeyStorage) async throws -> OwnerRef {
        for s in ["org:acme", "team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            try await store.createOwner(ref(s), at: now)
        }
        return ref("agent:acme/growth/crm/scout")
    }

    @Test(arguments: StoreEngine.sql) func migrationsAreVersionedAndApplied(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().first?.hasPrefix("v1") == true)
    }

    @Test(arguments: StoreEngine.available) func ownersNeedTheirParentAndAreUnique(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        await #expect(throws: LatchkeyError.self) { try await store.createOwner(ref("team:acme/growth"), at: now) }
        try await store.createOwner(ref("org:acme"), at: now)
        do {
            try await store.createOwner(ref("org:acme"), at: now)
            Issue.record("a duplicate owner was created")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict)
        }
        try await store.createOwner(ref("team:acme/growth"), at: now)
        #expect(try await store.ownerExists(ref("team:acme/growth")))
        #expect(try await !store.ownerExists(ref("team:acme/sales")))
        #expect(try await store.owners(kind: .team, org: "acme") == [ref("team:acme/growth")])
    }

    @Test(arguments: StoreEngine.available) func agentKeysAreFoundByHashUntilRevoked(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.addAgentKey(hash: "h1", agent: agent, at: now)
        try await store.addAgentKey(hash: "h2", agent: agent, at: now)
        #expect(try await store.agent(forKeyHash: "h1") == agent)
        #expect(try await store.agent(forKeyHash: "nope") == nil)
        #expect(try await store.revokeAgentKeys(agent: agent, at: now) == 2)
        #expect(try await store.agent(forKeyHash: "h1") == nil)
        #expect(try await store.revokeAgentKeys(agent: agent, at: now) == 0)
    }

    @Test(arguments: StoreEngine.available) func racingDataKeyInsertsKeepOneKey(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let owner = ref("org:acme")
        let results = try await withThrowingTaskGroup(of: WrappedDataKeyRecord.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await store.insertDataKeyIfAbsent(WrappedDataKeyRecord(owner: owner, keyVersion: 1, ciphertext: [UInt8(i)]))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.ciphertext)).count == 1)
        #expect(try await store.deleteDataKey(for: owner))
        #expect(try await store.dataKey(for: owner) == nil)
    }

    @Test(arguments: StoreEngine.available) func appsAreUpsertedPerProviderAndOwner(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createOwner(ref("org:acme"), at: now)
        let app = AppRegistration(provider: "github", owner: ref("org:acme"), clientID: "a", sealedClientSecret: [1], scopes: ["repo"], updatedAt: now)
        try await store.putApp(app)
        var rotated = app
        rotated.clientID = "b"
        rotated.sealedClientSecret = [2]
        try await store.putApp(rotated)
        #expect(try await store.apps(provider: "github", owners: [ref("org:acme")]) == [rotated])
        #expect(try await store.apps(provider: "slack", owners: [ref("org:acme")]).isEmpty)
        // Every owner's registration of a provider, for the dashboard's setup state.
        try await store.createOwner(ref("team:acme/growth"), at: now)
        let teamApp = AppRegistration(
            provider: "github", owner: ref("team:acme/growth"), clientID: "t", sealedClientSecret: nil, scopes: [], updatedAt: now.addingTimeInterval(5))
        try await store.putApp(teamApp)
        #expect(try await store.apps(provider: "github").map(\.clientID) == ["b", "t"])
        #expect(try await store.apps(provider: "slack").isEmpty)
    }

    func connection(_ owner: OwnerRef, provider: ProviderID = "github", isDefault: Bool = true) -> Connection {
        Connection(
            id: .random(), provider: provider, owner: owner, state: .active, account: AccountIdentity(id: "1", name: "A"),
            scopesRequested: ["a"], scopesGranted: ["a", "b"], config: ["tenant": "x"], expiresAt: now.addingTimeInterval(60),
            isDefault: isDefault, createdAt: now, updatedAt: now)
    }

    @Test(arguments: StoreEngine.available) func connectionsRoundTripAndWritesAreCompareAndSwap(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        var c = connection(agent)
        try await store.insert(c, sealedCredential: [9, 9])
        let stored = try #require(try await store.connection(id: c.id))
        #expect(stored.connection == c)
        #expect(stored.sealedCredential == [9, 9])
        await #expect(throws: LatchkeyError.self) { try await store.insert(c, sealedCredential: nil) }

        c.state = .needsReauth
        #expect(try await store.update(c, sealedCredential: [1], expectedVersion: 0))
        // A writer that read version 0 has lost: its write is refused and nothing changes.
        var stale = c
        stale.state = .active
        #expect(try await !store.update(stale, sealedCredential: [2], expectedVersion: 0))
        let after = try #require(try await store.connection(id: c.id))
        #expect(after.connection.state == .needsReauth && after.connection.version == 1 && after.sealedCredential == [1])

        // Made on the platform's app: kept on insert and on a compare-and-swap write, in a batch as one by one.
        var managed = connection(agent, isDefault: false)
        managed.credentials = .managed
        try await store.insert(managed, sealedCredential: [3])
        #expect(try await store.connection(id: managed.id)?.connection.credentials == .managed)
        managed.credentials = .own
        #expect(try await store.update(managed, sealedCredential: [4], expectedVersion: 0))
        #expect(try await store.connection(id: managed.id)?.connection.credentials == .own)
        var batched = connection(agent, isDefault: false)
        batched.credentials = .managed
        try await store.insert([StoredConnection(connection: batched, sealedCredential: [5])])
        #expect(try await store.connection(id: batched.id)?.connection == batched)
    }

    @Test(arguments: StoreEngine.available) func anOwnerHasAtMostOneDefaultConnectionPerProvider(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.insert(connection(agent), sealedCredential: nil)
        await #expect(throws: LatchkeyError.self) { try await store.insert(connection(agent), sealedCredential: nil) }
        try await store.insert(connection(agent, isDefault: false), sealedCredential: nil)
        try await store.insert(connection(agent, provider: "slack"), sealedCredential: nil)
        #expect(try await store.connections(owners: [agent], provider: "github").count == 2)
    }

    @Test(arguments: StoreEngine.available) func listingFollowsOwnersProviderAndState(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        let project = ref("project:acme/growth/crm")
        try await store.insert(connection(agent), sealedCredential: nil)
        try await store.insert(connection(project), sealedCredential: nil)
        try await store.createOwner(ref("org:other"), at: now)
        try await store.insert(connection(ref("org:other")), sealedCredential: nil)
        #expect(try await store.connections(owners: agent.inheritanceChain, provider: nil).count == 2)
        #expect(try await store.connections(owners: [project], provider: nil).count == 1)
        #expect(try await store.allConnections(ownerPrefix: ref("org:acme"), provider: nil, state: nil).count == 2)
        #expect(try await store.allConnections(ownerPrefix: ref("team:acme/growth"), provider: "github", state: .active).count == 2)
        #expect(try await store.allConnections(ownerPrefix: nil, provider: nil, state: .revoked).isEmpty)
    }

    @Test(arguments: StoreEngine.available) func aSessionIsMarkedUsedOnceAndAStateIsConsumedOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.createSession(ConnectSession(
            tokenHash: "s1", provider: "github", owner: agent, connectionID: nil, extraScopes: ["x"], returnTo: nil,
            createdBy: "admin", createdAt: now, expiresAt: now.addingTimeInterval(900)))
        #expect(try await store.session(tokenHash: "s1")?.extraScopes == ["x"])
        let claims = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { try await store.markSessionUsed(tokenHash: "s1", at: now) } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(claims == 1)

        let state = AuthorizationState(
            stateHash: "st1", sessionTokenHash: "s1", provider: "github", owner: agent, sealedVerifier: [7],
            browserBindingHash: "b", scopes: ["repo"], config: ["k": "v"], createdAt: now, expiresAt: now.addingTimeInterval(600))
        try await store.createState(state)
        let consumed = try await withThrowingTaskGroup(of: AuthorizationState?.self) { group in
            for _ in 0..<10 { group.addTask { try await store.consumeState(hash: "st1") } }
            return try await group.reduce(into: [AuthorizationState]()) { if let s = $1 { $0.append(s) } }
        }
        #expect(consumed == [state])
        #expect(try await store.purgeExpired(before: now.addingTimeInterval(10_000)) == 1)
    }

    @Test(arguments: StoreEngine.available) func aStateCanBeReadWithoutSpendingItAndALinkKeepsItsInstall(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.createSession(ConnectSession(
            tokenHash: "s2", provider: "github", owner: agent, connectionID: nil, installID: ConnectionID(rawValue: "conn_install"),
            extraScopes: [], returnTo: nil, createdBy: "admin", createdAt: now, expiresAt: now.addingTimeInterval(900)))
        #expect(try await store.session(tokenHash: "s2")?.installID == ConnectionID(rawValue: "conn_install"))
        let state = AuthorizationState(
            stateHash: "st2", sessionTokenHash: "s2", provider: "github", owner: agent, sealedVerifier: nil,
            browserBindingHash: "b", scopes: [], config: [:], createdAt: now, expiresAt: now.addingTimeInterval(600))
        try await store.createState(state)
        #expect(try await store.authorizationState(hash: "st2") == state)
        #expect(try await store.authorizationState(hash: "st2") == state)  // still there
        #expect(try await store.consumeState(hash: "st2") == state)
        #expect(try await store.authorizationState(hash: "st2") == nil)
        #expect(try await store.authorizationState(hash: "unknown") == nil)
    }

    @Test(arguments: StoreEngine.available) func anOwnersRevocationIsFoundAlongItsChainAndOnlyMovesForward(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        let chain = Array(sequence(first: agent, next: \.parent))
        #expect(try await store.latestRevocation(of: chain) == nil)
        try await store.markOwnerRevoked(ref("team:acme/growth"), at: now)
        #expect(try await store.latestRevocation(of: chain) == now)
        #expect(try await store.latestRevocation(of: [ref("org:acme")]) == nil)
        try await store.markOwnerRevoked(agent, at: now + 60)
        try await store.markOwnerRevoked(agent, at: now + 30)  // an older time never moves it back
        #expect(try await store.latestRevocation(of: chain) == now + 60)
        #expect(try await store.latestRevocation(of: []) == nil)
    }

    @Test(arguments: StoreEngine.available) func theAuditLogIsNewestFirstAndFiltersByOwner(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.append(AuditEvent(at: now, actor: AuditActor(rawValue: "admin"), action: AuditAction(rawValue: "a.one"), owner: agent))
        try await store.append(AuditEvent(at: now.addingTimeInterval(5), actor: AuditActor(rawValue: "admin"), action: AuditAction(rawValue: "a.two"), owner: ref("org:acme")))
        try await store.append(AuditEvent(at: now.addingTimeInterval(9), actor: AuditActor(rawValue: "admin"), action: AuditAction(rawValue: "a.three")))
        #expect(try await store.events(AuditQuery(limit: 10)).map(\.action.rawValue) == ["a.three", "a.two", "a.one"])
        #expect(try await store.events(AuditQuery(ownerPrefix: ref("project:acme/growth/crm"), limit: 10)).map(\.action.rawValue) == ["a.one"])
        #expect(try await store.events(AuditQuery(since: now.addingTimeInterval(1), limit: 1)).map(\.action.rawValue) == ["a.three"])
    }

    @Test(arguments: StoreEngine.available) func theAuditLogFiltersByEveryFieldAndPagesNewestFirst(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        try await store.createOwner(ref("user:acme/alice"), at: now)
        let c1 = ConnectionID(rawValue: "conn_1"), c2 = ConnectionID(rawValue: "conn_2")
        for i in 0..<1200 {
            try await store.append(AuditEvent(
                at: now.addingTimeInterval(Double(i)), actor: i % 2 == 0 ? AuditActor.system : .admin,
                action: i % 3 == 0 ? AuditAction.connectionRefreshed : .connectionRefreshFailed, owner: i % 4 == 0 ? agent : ref("user:acme/alice"),
                provider: i % 5 == 0 ? "github" : "slack", connectionID: i % 2 == 0 ? c1 : c2, outcome: i % 3 == 0 ? "success" : "failure"))
        }
        try await store.append(AuditEvent(at: now, actor: AuditActor(rawValue: "admin"), action: AuditAction(rawValue: "key.rotated")))
        // The owner filter is exact even when the matches are sparse among many events (more than one page).
        let agentEvents = try await store.events(AuditQuery(ownerPrefix: agent, limit: 1000))
        #expect(agentEvents.count == 300 && agentEvents.allSatisfy { $0.owner == agent })
        #expect(try await store.events(AuditQuery(ownerPrefix: ref("team:acme/growth"), limit: 1000)).count == 300)
        #expect(try await store.events(AuditQuery(ownerPrefix: ref("org:acme"), limit: 2000)).count == 1200)
        // An action prefix ends with a dot; anything else is exact.
        #expect(try await store.events(AuditQuery(action: "connection.", limit: 2000)).count == 1200)
        #expect(try await store.events(AuditQuery(action: "connection.refreshed", limit: 2000)).count == 400)
        #expect(try await store.events(AuditQuery(action: "connection", limit: 2000)).isEmpty)
        let narrow = try await store.events(AuditQuery(
            since: now.addingTimeInterval(100), until: now.addingTimeInterval(200), provider: "github", connectionID: c1, actor: "system",
            outcome: "success", limit: 100))
        // i in 100..<200, i % 5 == 0, even, i % 3 == 0: multiples of 30.
        #expect(narrow.map { Int($0.at.timeIntervalSince(now)) } == [180, 150, 120])
        // Pages: newest first, each continuing below the last id of the one before.
        let first = try await store.events(AuditQuery(action: "connection.", limit: 5))
        let second = try await store.events(AuditQuery(action: "connection.", beforeID: first.last?.id, limit: 5))
        #expect(first.count == 5 && second.count == 5)
        #expect(zip(first + second, (first + second).dropFirst()).allSatisfy { $0.id! > $1.id! })
    }

    @Test(arguments: StoreEngine.available) func theVaultSealsUnderAPerOwnerKeyAndCrossOwnerOpeningFails(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = try await seedAgent(store)
        let vault = CredentialVault(keyring: try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)], currentVersion: 1), dataKeys: store)
        let c = connection(agent)
        let sealed = try await vault.sealCredential(Credential(accessToken: "at", refreshToken: "rt"), for: c)
        #expect(try await vault.openCredential(sealed, for: c) == Credential(accessToken: "at", refreshToken: "rt"))
        var moved = c
        moved.owner = ref("project:acme/growth/crm")
        await #expect(throws: LatchkeyError.self) { try await vault.openCredential(sealed, for: moved) }
        var renamed = c
        renamed.id = .random()
        await #expect(throws: LatchkeyError.self) { try await vault.openCredential(sealed, for: renamed) }
        // Crypto-shredding: without the owner's data key, nothing opens, at once.
        #expect(try await vault.destroyDataKey(for: agent))
        await #expect(throws: LatchkeyError.self) { try await vault.openCredential(sealed, for: c) }
    }
}
