import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Narrowed keys in the store contract, on every available engine.
@Suite("Narrowed key store contract")
struct NarrowedKeyStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let migration = "v12: narrowed keys"

    func ref(_ s: String) -> OwnerRef { try! OwnerRef(parsing: s) }

    var scout: OwnerRef { ref("agent:acme/growth/crm/scout") }
    var ranger: OwnerRef { ref("agent:acme/growth/crm/ranger") }

    /// One org down to two agents, each with a key of its own (`scout-key`, `ranger-key`).
    func seedAgents(_ store: any LatchkeyStorage) async throws {
        for owner in ["org:acme", "team:acme/growth", "project:acme/growth/crm"].map(ref) + [scout, ranger] {
            try await store.createOwner(owner, at: now)
        }
        try await store.addAgentKey(hash: "scout-key", agent: scout, at: now)
        try await store.addAgentKey(hash: "ranger-key", agent: ranger, at: now)
    }

    /// A tool grant with neither connection nor expiry.
    var toolGrant: StoredGrant { StoredGrant(provider: "slack", tools: ["post_message", "add_reaction"]) }

    /// A proxy grant bound to a connection, approved at each call, expiring at a time with a long fraction (one that
    /// seconds since 1970 would not give back to the last bit).
    var proxyGrant: StoredGrant {
        StoredGrant(
            provider: "github", methods: ["GET", "POST"], paths: ["/repos/acme/*", "/user"], connection: ConnectionID(rawValue: "conn_github"),
            expiresAt: now.addingTimeInterval(86_400.123_456_789), approval: "each_call")
    }

    /// A key `agent` mints from `parent`, `created` seconds after `now`, for a day.
    func mint(
        _ hash: String, by agent: OwnerRef, from parent: String = "scout-key", depth: Int = 1, grants: [StoredGrant] = [], created: TimeInterval = 0
    ) -> NarrowedKeyRecord {
        NarrowedKeyRecord(
            keyHash: hash, agent: agent, parentHash: parent, depth: depth, grants: grants, createdAt: now.addingTimeInterval(created),
            expiresAt: now.addingTimeInterval(created + 86_400))
    }

    /// Runs `body`, which must fail with `conflict`.
    func expectConflict(_ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
            Issue.record("\(what) was stored")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict)
        }
    }

    /// Runs `read`, which must fail as the read of a row whose `grants` column is damaged.
    func expectDamagedGrants(_ read: () async throws -> Void) async throws {
        do {
            try await read()
            Issue.record("a damaged key was read as if it were whole")
        } catch let error as LatchkeyError {
            #expect(error.code == .internalError)
            #expect(error.message.contains("grants"))
        }
    }

    // MARK: Keys

    @Test(arguments: StoreEngine.available) func aKeyComesBackAsItWasAddedWithGrantsOfBothKinds(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        try await store.addNarrowedKey(mint("sub-agent-key", by: scout))
        let minted = mint("task-key", by: scout, from: "sub-agent-key", depth: 2, grants: [toolGrant, proxyGrant])
        try await store.addNarrowedKey(minted)
        // Every field: the grants in order, each with its connection, its expiry to the last bit and its approval.
        #expect(try await store.narrowedKey(hash: "task-key") == minted)
        #expect(try await store.narrowedKeys(agent: scout).first == minted)
        #expect(try await store.narrowedKey(hash: "other-key") == nil)
    }

    @Test(arguments: StoreEngine.available) func aKeyIsMintedOnlyFromALiveKeyOfItsOwnAgent(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        try await store.addNarrowedKey(mint("short", by: scout, created: -86_400 + 10))  // ends 10 s after `now`
        let orphans = [
            mint("k1", by: scout, from: "no-such-key"),
            mint("k2", by: scout, from: "ranger-key"),  // another agent's key
            mint("k3", by: scout, from: "short", depth: 2, created: 10),  // its parent ended as this one was minted
        ]
        for key in orphans {
            await #expect(throws: NarrowedKeyRecord.parentGone) { try await store.addNarrowedKey(key) }
            #expect(try await store.narrowedKey(hash: key.keyHash) == nil)
        }
        // After a revocation, nothing is minted from the revoked key or from a key narrowed from it.
        try await store.addNarrowedKey(mint("task", by: scout))
        _ = try await store.revokeAgentKeys(agent: scout, at: now)
        for key in [mint("k4", by: scout), mint("k5", by: scout, from: "task", depth: 2)] {
            await #expect(throws: NarrowedKeyRecord.parentGone) { try await store.addNarrowedKey(key) }
        }
        #expect(try await store.narrowedKeys(agent: scout) == [])
    }

    @Test(arguments: StoreEngine.available) func aMintRacingARevocationLeavesNoKeyBehind(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        for round in 0..<20 {
            try await store.addAgentKey(hash: "root-\(round)", agent: scout, at: now)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask { try? await store.addNarrowedKey(self.mint("r\(round)-\(i)", by: self.scout, from: "root-\(round)")) }
                }
                group.addTask { _ = try await store.revokeAgentKeys(agent: self.scout, at: self.now) }
                try await group.waitForAll()
            }
            // Whatever the order, the revocation removed every key minted before it, and none came after it.
            #expect(try await store.narrowedKeys(agent: scout) == [], "round \(round)")
        }
    }

    @Test(arguments: StoreEngine.available) func anAgentsKeysAreListedNewestFirstAndItsOwnOnly(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Added neither in time order nor in hash order; two minted in the same second come in reverse hash order.
        let keys = [
            mint("b", by: scout, created: 60), mint("c", by: scout, created: 0), mint("a", by: scout, created: 120),
            mint("d", by: scout, created: 60), mint("e", by: ranger, from: "ranger-key", created: 30),
        ]
        for key in keys { try await store.addNarrowedKey(key) }
        #expect(try await store.narrowedKeys(agent: scout).map(\.keyHash) == ["a", "d", "b", "c"])
        #expect(try await store.narrowedKeys(agent: ranger) == [keys[4]])
        #expect(try await store.narrowedKeys(agent: ref("agent:acme/growth/crm/nobody")) == [])
    }

    @Test(arguments: StoreEngine.available) func aKeyOfAnAgentThatDoesNotExistIsAConflictAndNothingIsStored(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let stranger = ref("agent:acme/growth/crm/nobody")
        try await expectConflict("a key of an agent that does not exist") {
            try await store.addNarrowedKey(mint("task-key", by: stranger, grants: [toolGrant]))
        }
        #expect(try await store.narrowedKey(hash: "task-key") == nil)
        #expect(try await store.narrowedKeys(agent: stranger) == [])
    }

    @Test(arguments: StoreEngine.available) func aHashThatANarrowedKeyHoldsIsAConflictAndTheFirstKeyStays(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let first = mint("task-key", by: scout, grants: [toolGrant])
        try await store.addNarrowedKey(first)
        // Whoever mints it, whatever it grants.
        try await expectConflict("a second key with a narrowed key's hash") {
            try await store.addNarrowedKey(mint("task-key", by: ranger, from: "ranger-key", grants: [proxyGrant], created: 60))
        }
        #expect(try await store.narrowedKey(hash: "task-key") == first)
        #expect(try await store.narrowedKeys(agent: scout) == [first])
        #expect(try await store.narrowedKeys(agent: ranger) == [])
    }

    @Test(arguments: StoreEngine.available) func aHashThatAnAgentKeyHoldsIsAConflict(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Another agent's key, and the minting agent's own.
        for hash in ["ranger-key", "scout-key"] {
            try await expectConflict("a narrowed key with an agent key's hash") {
                try await store.addNarrowedKey(mint(hash, by: scout, grants: [toolGrant]))
            }
            #expect(try await store.narrowedKey(hash: hash) == nil)
        }
        #expect(try await store.narrowedKeys(agent: scout) == [])
        // A revoked key's hash stays used.
        _ = try await store.revokeAgentKeys(agent: ranger, at: now)
        try await expectConflict("a narrowed key with a revoked agent key's hash") {
            try await store.addNarrowedKey(mint("ranger-key", by: scout))
        }
        #expect(try await store.agent(forKeyHash: "scout-key") == scout)
    }

    @Test(arguments: StoreEngine.available) func revokingAnAgentsKeysRemovesItsNarrowedKeysAndCountsThem(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        try await store.addAgentKey(hash: "scout-key-2", agent: scout, at: now)
        let rangers = mint("ranger-task", by: ranger, from: "ranger-key", grants: [toolGrant])
        for key in [mint("task-1", by: scout), mint("task-2", by: scout, from: "task-1", depth: 2), mint("task-3", by: scout), rangers] {
            try await store.addNarrowedKey(key)
        }

        // Two agent keys revoked and three narrowed keys removed.
        #expect(try await store.revokeAgentKeys(agent: scout, at: now.addingTimeInterval(60)) == 5)
        #expect(try await store.narrowedKeys(agent: scout) == [])
        for hash in ["task-1", "task-2", "task-3"] { #expect(try await store.narrowedKey(hash: hash) == nil) }
        // The other agent keeps its keys.
        #expect(try await store.narrowedKey(hash: "ranger-task") == rangers)
        #expect(try await store.narrowedKeys(agent: ranger) == [rangers])
        #expect(try await store.agent(forKeyHash: "ranger-key") == ranger)
        // Nothing is left to revoke or remove.
        #expect(try await store.revokeAgentKeys(agent: scout, at: now.addingTimeInterval(120)) == 0)
    }

    @Test(arguments: StoreEngine.available) func anExpiredKeyIsStillFound(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Minted two days ago for a day: the caller, not the store, compares its expiry with the clock.
        let expired = mint("old-key", by: scout, grants: [toolGrant], created: -2 * 86_400)
        try await store.addNarrowedKey(expired)
        #expect(expired.expiresAt < now)
        #expect(try await store.narrowedKey(hash: "old-key") == expired)
        #expect(try await store.narrowedKeys(agent: scout) == [expired])
    }

    @Test(arguments: StoreEngine.available) func purgingDeletesTheKeysThatExpiredBeforeTheInstantOnly(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let old = mint("old-key", by: scout, grants: [toolGrant], created: -3 * 86_400)
        let recent = mint("recent-key", by: ranger, from: "ranger-key", grants: [toolGrant], created: -1.5 * 86_400)
        let live = mint("live-key", by: scout, grants: [toolGrant])
        for key in [old, recent, live] { try await store.addNarrowedKey(key) }
        #expect(try await store.purgeNarrowedKeys(expiredBefore: now.addingTimeInterval(-86_400)) == 1)
        #expect(try await store.narrowedKey(hash: "old-key") == nil)
        #expect(try await store.narrowedKey(hash: "recent-key") == recent)
        #expect(try await store.narrowedKeys(agent: scout) == [live])
        #expect(try await store.purgeNarrowedKeys(expiredBefore: now) == 1)
        #expect(try await store.narrowedKeys(agent: ranger).isEmpty)
        #expect(try await store.narrowedKey(hash: "live-key") == live)
    }

    // MARK: The SQL engines

    @Test(arguments: StoreEngine.sql) func theMigrationIsApplied(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains(migration))
    }

    /// Not JSON; JSON but no list; a list whose grant has no provider.
    @Test(arguments: StoreEngine.sql, [#"not json"#, #"{"provider":"slack"}"#, #"[{"tools":["post_message"]}]"#])
    func aKeyWhoseGrantsAreUnreadableFailsItsReadOnly(_ engine: StoreEngine, damage: String) async throws {
        let store = try await engine.makeRawSQLStore()
        try await seedAgents(store)
        try await store.addNarrowedKey(mint("task-key", by: scout, grants: [toolGrant]))
        let intact = mint("ranger-task", by: ranger, from: "ranger-key", grants: [proxyGrant])
        try await store.addNarrowedKey(intact)
        // Another program writes something that is no list of grants.
        try await store.executeRaw("UPDATE narrowed_keys SET grants = '\(damage)' WHERE key_hash = 'task-key'")

        try await expectDamagedGrants { _ = try await store.narrowedKey(hash: "task-key") }
        try await expectDamagedGrants { _ = try await store.narrowedKeys(agent: scout) }
        #expect(try await store.narrowedKey(hash: "ranger-task") == intact)
    }
}
