import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// The rules the SQL schemas enforce (references, uniqueness, checks) and the all-or-none writes, which every engine,
/// the in-memory one included, keeps with a `conflict`.
@Suite("Store rules")
struct StoreRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let agent = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")

    func seedAgent(_ store: any LatchkeyStorage) async throws {
        for s in ["org:acme", "team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            try await store.createOwner(try OwnerRef(parsing: s), at: now)
        }
    }

    func expectConflict(_ what: Comment, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("no conflict: \(what)")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict, what)
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test(arguments: StoreEngine.available) func keysNameAnExistingAgent(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let nobody = try OwnerRef(parsing: "agent:acme/growth/crm/nobody")
        await expectConflict("a key of a missing agent") { try await store.addAgentKey(hash: "h0", agent: nobody, at: now) }
        try await seedAgent(store)
        try await store.addAgentKey(hash: "h1", agent: agent, at: now)
        await expectConflict("a key hash stored twice") { try await store.addAgentKey(hash: "h1", agent: agent, at: now) }
    }

    @Test(arguments: StoreEngine.available) func aWriteThatWouldMakeASecondDefaultIsRefused(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgent(store)
        let first = Connection(id: .random(), provider: "github", owner: agent, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        var second = Connection(id: .random(), provider: "github", owner: agent, state: .active, isDefault: false, createdAt: now, updatedAt: now)
        try await store.insert(first, sealedCredential: nil)
        try await store.insert(second, sealedCredential: nil)
        second.isDefault = true
        await expectConflict("a second default by update") { _ = try await store.update(second, sealedCredential: [1], expectedVersion: 0) }
        #expect(try await store.connection(id: second.id)?.connection.isDefault == false)
        // Once the first gives the default up, the second may take it.
        var former = first
        former.isDefault = false
        #expect(try await store.update(former, sealedCredential: nil, expectedVersion: 0))
        #expect(try await store.update(second, sealedCredential: [1], expectedVersion: 0))
    }

    @Test(arguments: StoreEngine.available) func aBatchOfRefreshEndingsIsAllOrNone(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgent(store)
        let a = Connection(id: .random(), provider: "github", owner: agent, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        let b = Connection(id: .random(), provider: "github", owner: agent, state: .active, isDefault: false, createdAt: now, updatedAt: now)
        try await store.insert(a, sealedCredential: [1])
        try await store.insert(b, sealedCredential: [1])
        let leaseA = try #require(try await store.acquireRefreshLease(a.id, holder: "me", now: now, ttl: 30))
        let leaseB = try #require(try await store.acquireRefreshLease(b.id, holder: "me", now: now, ttl: 30))
        var refreshed = a
        refreshed.lastError = "refreshed"
        var secondDefault = b
        secondDefault.isDefault = true
        let event = AuditEvent(at: now, actor: AuditActor(rawValue: "system"), action: AuditAction(rawValue: "connection.refreshed"), owner: agent, connectionID: a.id)
        await expectConflict("a batch with a second default") {
            _ = try await store.finishRefreshes([
                RefreshOutcome(lease: leaseA, connection: refreshed, sealedCredential: [2], expectedVersion: 0, audit: event, keepOthersOutUntil: nil),
                RefreshOutcome(lease: leaseB, connection: secondDefault, sealedCredential: [2], expectedVersion: 0, audit: nil, keepOthersOutUntil: nil),
            ])
        }
        // Nothing of the batch stayed: not the first write, its event, nor its release.
        #expect(try await store.connection(id: a.id) == StoredConnection(connection: a, sealedCredential: [1]))
        #expect(try await store.events(AuditQuery(limit: 10)).isEmpty)
        #expect(try await store.refreshLease(a.id) == leaseA)
    }

    @Test(arguments: StoreEngine.available) func webhookRowsNameTheirWebhookAndDeliveryOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let hook = Webhook(
            id: "wh_1", org: "acme", url: "https://hooks.example.com", events: [.connected], sealedSecret: [1], createdAt: now, updatedAt: now)
        _ = try await store.putWebhook(hook)
        var taken = hook
        taken.org = "beta"
        await expectConflict("another org's webhook id") { _ = try await store.putWebhook(taken) }
        #expect(try await store.webhook(org: "beta") == nil)
        try await store.enqueueDelivery(WebhookDelivery(
            id: "d1", webhookID: "wh_1", org: "acme", eventID: "evt_1", event: .connected, connectionID: nil, payload: [1], createdAt: now,
            nextAttemptAt: now))
        let attempt = WebhookAttempt(deliveryID: "d1", number: 1, at: now, statusCode: 500, error: nil, durationMilliseconds: 3)
        try await store.recordAttempt(attempt, status: .pending, nextAttemptAt: now + 10)
        await expectConflict("an attempt number recorded twice") { try await store.recordAttempt(attempt, status: .pending, nextAttemptAt: now + 20) }
        var numberZero = attempt
        numberZero.number = 0
        await expectConflict("attempt number 0") { try await store.recordAttempt(numberZero, status: .pending, nextAttemptAt: now + 20) }
        var missing = attempt
        missing.deliveryID = "d9"
        await expectConflict("an attempt of a missing delivery") { try await store.recordAttempt(missing, status: .delivered, nextAttemptAt: nil) }
        #expect(try await store.delivery(id: "d1")?.nextAttemptAt == now + 10)
        #expect(try await store.attempts(deliveryID: "d1") == [attempt])
    }

    @Test(arguments: StoreEngine.available) func countsAndVersionsNeverGoBelowTheirFloor(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let github = ProviderID("github")
        try await store.addProxyCounts([ProxyHourCounts(provider: github, hour: 1, succeeded: 2, failed: 0)])
        await expectConflict("a count below zero") {
            try await store.addProxyCounts([
                ProxyHourCounts(provider: github, hour: 2, succeeded: 1, failed: 0), ProxyHourCounts(provider: github, hour: 1, succeeded: -3, failed: 0),
            ])
        }
        // The whole batch went back.
        #expect(try await store.proxyCounts(fromHour: 0, provider: nil) == [ProxyHourCounts(provider: github, hour: 1, succeeded: 2, failed: 0)])
        await expectConflict("master-key version 0") { _ = try await store.setWrappingVersion(0, expected: nil, at: now) }
        #expect(try await store.wrappingVersion() == nil)
    }

    @Test(arguments: StoreEngine.available) func aRefusedSignInUndoesItsPruning(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createAdminSession(idHash: "old", expiresAt: now + 10, now: now, capacity: 5)
        try await store.createAdminSession(idHash: "b", expiresAt: now + 200, now: now, capacity: 5)
        await expectConflict("a stored hash") { try await store.createAdminSession(idHash: "b", expiresAt: now + 300, now: now + 20, capacity: 5) }
        // The expired session that sign-in would have pruned is still stored: a clock that goes back finds it.
        #expect(try await store.adminSessionExpiry(idHash: "old", now: now) == now + 10)
        #expect(try await store.adminSessionExpiry(idHash: "b", now: now + 20) == now + 200)
    }
}
