import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Refresh leases: one holder at a time per connection, taken over only after expiry, with fenced writes; on every engine.
@Suite("Refresh leases")
struct RefreshLeaseTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let agent = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")


    func seedConnection(_ store: any LatchkeyStorage) async throws -> Connection {
        for s in ["org:acme", "team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            try await store.createOwner(try OwnerRef(parsing: s), at: now)
        }
        let c = Connection(
            id: .random(), provider: "github", owner: agent, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        try await store.insert(c, sealedCredential: [1])
        return c
    }

    @Test(arguments: StoreEngine.available) func oneHolderAtATimeUntilTheLeaseExpires(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let a = try #require(try await store.acquireRefreshLease(c.id, holder: "a", now: now, ttl: 30))
        #expect(a.fence == 1 && a.holder == "a")
        #expect(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(29), ttl: 30) == nil)
        #expect(try await store.acquireRefreshLease(c.id, holder: "a", now: now.addingTimeInterval(1), ttl: 30) == nil)
        #expect(try await store.refreshLease(c.id) == a)
        // The holder died: after expiry another takes over, with a higher fence.
        let b = try #require(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(30), ttl: 30))
        #expect(b.fence == 2 && b.holder == "b")
    }

    @Test(arguments: StoreEngine.available) func aReleasedLeaseCanBeTakenAtOnceAndItsFenceStillGrows(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let a = try #require(try await store.acquireRefreshLease(c.id, holder: "a", now: now, ttl: 30))
        try await store.releaseRefreshLease(a, keepOthersOutUntil: nil)
        #expect(try await store.refreshLease(c.id) == nil)
        let b = try #require(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(1), ttl: 30))
        #expect(b.fence == 2)
        // Releasing a lease that is no longer current does nothing.
        try await store.releaseRefreshLease(a, keepOthersOutUntil: nil)
        #expect(try await store.refreshLease(c.id) == b)
    }

    @Test(arguments: StoreEngine.available) func aLeaseReleasedAfterAFailureKeepsOthersOutUntilTheBackoffEnds(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let a = try #require(try await store.acquireRefreshLease(c.id, holder: "a", now: now, ttl: 30))
        try await store.releaseRefreshLease(a, keepOthersOutUntil: now.addingTimeInterval(60))
        #expect(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(59), ttl: 30) == nil)
        #expect(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(60), ttl: 30)?.fence == 2)
    }

    @Test(arguments: StoreEngine.available) func aWriteFencedByALeaseThatWasTakenOverIsRefused(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let a = try #require(try await store.acquireRefreshLease(c.id, holder: "a", now: now, ttl: 5))
        let b = try #require(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(6), ttl: 5))
        var fromA = c
        fromA.lastError = "from a"
        // a still believes it refreshes: its write must not land, even with the right version.
        #expect(try await !store.update(fromA, sealedCredential: [2], expectedVersion: c.version, fencedBy: a))
        var fromB = c
        fromB.lastError = "from b"
        #expect(try await store.update(fromB, sealedCredential: [3], expectedVersion: c.version, fencedBy: b))
        let stored = try #require(try await store.connection(id: c.id))
        #expect(stored.connection.lastError == "from b" && stored.sealedCredential == [3])
        // The fence does not replace the version check: a stale version is refused under a current lease too.
        #expect(try await !store.update(fromB, sealedCredential: [4], expectedVersion: c.version, fencedBy: b))
    }

    @Test(arguments: StoreEngine.available) func racingHoldersGetOneLease(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let won = try await withThrowingTaskGroup(of: RefreshLease?.self) { group in
            for i in 0..<20 {
                group.addTask { try await store.acquireRefreshLease(c.id, holder: "h\(i)", now: now, ttl: 30) }
            }
            return try await group.reduce(into: [RefreshLease]()) { if let lease = $1 { $0.append(lease) } }
        }
        #expect(won.count == 1)
    }

    @Test(arguments: StoreEngine.available) func leasesAcquiredInABatchFollowTheSameRules(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c1 = try await seedConnection(store)
        let c2 = Connection(id: .random(), provider: "slack", owner: agent, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        try await store.insert(c2, sealedCredential: [2])
        let held = try #require(try await store.acquireRefreshLease(c1.id, holder: "other", now: now, ttl: 30))
        let won = try await store.acquireRefreshLeases([c1.id, c2.id], holder: "me", now: now.addingTimeInterval(1), ttl: 30)
        #expect(won[c1.id] == nil && won[c2.id]?.holder == "me" && won[c2.id]?.fence == 1)
        #expect(try await store.refreshLease(c1.id) == held)
        #expect(try await store.acquireRefreshLeases([], holder: "me", now: now, ttl: 30).isEmpty)
    }

    @Test(arguments: StoreEngine.available) func aRefreshEndsInOneStepAndOnlyUnderItsOwnLease(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        let stale = try #require(try await store.acquireRefreshLease(c.id, holder: "a", now: now, ttl: 5))
        let lease = try #require(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(6), ttl: 30))
        var refreshed = c
        refreshed.lastError = nil
        refreshed.expiresAt = now.addingTimeInterval(3600)
        let event = AuditEvent(at: now, actor: AuditActor(rawValue: "system"), action: AuditAction(rawValue: "connection.refreshed"), owner: agent, provider: "github", connectionID: c.id)
        let results = try await store.finishRefreshes([
            RefreshOutcome(lease: stale, connection: refreshed, sealedCredential: [7], expectedVersion: c.version, audit: event, keepOthersOutUntil: nil),
            RefreshOutcome(lease: lease, connection: refreshed, sealedCredential: [9], expectedVersion: c.version, audit: event, keepOthersOutUntil: nil),
        ])
        // The taken-over lease writes nothing, not even its event; the current one writes, audits and releases.
        #expect(results == [false, true])
        let stored = try #require(try await store.connection(id: c.id))
        #expect(stored.sealedCredential == [9] && stored.connection.version == c.version + 1)
        #expect(try await store.events(AuditQuery(connectionID: c.id, limit: 10)).map(\.action.rawValue) == ["connection.refreshed"])
        #expect(try await store.refreshLease(c.id) == nil)
        // A failure's ending keeps other holders out until its backoff ends.
        let next = try #require(try await store.acquireRefreshLease(c.id, holder: "b", now: now.addingTimeInterval(7), ttl: 30))
        let until = now.addingTimeInterval(60)
        #expect(try await store.finishRefreshes([
            RefreshOutcome(lease: next, connection: nil, sealedCredential: nil, expectedVersion: 0, audit: nil, keepOthersOutUntil: until)
        ]) == [false])
        #expect(try await store.acquireRefreshLease(c.id, holder: "c", now: now.addingTimeInterval(59), ttl: 30) == nil)
        #expect(try await store.acquireRefreshLease(c.id, holder: "c", now: until, ttl: 30) != nil)
    }

    @Test(arguments: StoreEngine.available) func connectionsAreCountedByState(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let c = try await seedConnection(store)
        var other = Connection(id: .random(), provider: "slack", owner: agent, state: .installed, isDefault: true, createdAt: now, updatedAt: now)
        try await store.insert(other, sealedCredential: nil)
        other.state = .needsReauth
        #expect(try await store.update(other, sealedCredential: nil, expectedVersion: other.version))
        #expect(try await store.connectionCountsByState() == [.active: 1, .needsReauth: 1])
        _ = c
    }
}
