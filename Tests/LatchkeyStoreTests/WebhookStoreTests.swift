import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// The webhook part of the store contract, run against every available engine.
@Suite("Webhook store contract")
struct WebhookStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)


    func webhook(_ org: String, id: String? = nil, url: String = "https://hooks.example.com/latchkey") -> Webhook {
        Webhook(
            id: id ?? "wh_\(org)", org: org, url: url, events: WebhookEventType.allCases, sealedSecret: [1, 2, 3], createdAt: now,
            updatedAt: now)
    }

    func delivery(_ id: String, webhook: String = "wh_acme", org: String = "acme", event: WebhookEventType = .refreshFailed, at offset: TimeInterval = 0)
        -> WebhookDelivery
    {
        WebhookDelivery(
            id: id, webhookID: webhook, org: org, eventID: "evt_\(id)", event: event, connectionID: ConnectionID(rawValue: "conn_1"),
            payload: Array(#"{"type":"\#(event.rawValue)"}"#.utf8), createdAt: now + offset, nextAttemptAt: now + offset)
    }

    func attempt(_ id: String, _ number: Int, status: Int?, error: String? = nil, at: Date) -> WebhookAttempt {
        WebhookAttempt(deliveryID: id, number: number, at: at, statusCode: status, error: error, durationMilliseconds: 12)
    }

    @Test(arguments: StoreEngine.sql) func theMigrationIsNamedForWebhooks(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains { $0.hasPrefix("v6: org webhooks") })
    }

    @Test(arguments: StoreEngine.available) func anOrgHasOneWebhookAndReplacingItKeepsItsIdAndCreationTime(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let first = try await store.putWebhook(webhook("acme"))
        var replacement = webhook("acme", id: "wh_other", url: "https://new.example.com/hook")
        replacement.events = [.needsReauth, .revoked]
        replacement.sealedSecret = [9]
        replacement.createdAt = now + 60
        replacement.updatedAt = now + 60
        let stored = try await store.putWebhook(replacement)
        #expect(stored.id == first.id && stored.createdAt == now)
        #expect(stored.url == "https://new.example.com/hook" && stored.events == [.needsReauth, .revoked] && stored.sealedSecret == [9])
        #expect(stored.updatedAt == now + 60)
        #expect(try await store.webhook(org: "acme") == stored)
        #expect(try await store.webhook(org: "other") == nil)
        #expect(try await store.deleteWebhook(org: "acme"))
        #expect(try await !store.deleteWebhook(org: "acme"))
        #expect(try await store.webhook(org: "acme") == nil)
    }

    @Test(arguments: StoreEngine.available) func onlyTheHeadOfAWebhooksQueueIsHandedOutSoEventsStayInOrder(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.putWebhook(webhook("acme"))
        _ = try await store.putWebhook(webhook("beta"))
        try await store.enqueueDelivery(delivery("d1", event: .refreshFailed))
        try await store.enqueueDelivery(delivery("d2", event: .needsReauth, at: 1))
        try await store.enqueueDelivery(delivery("d3", webhook: "wh_beta", org: "beta", event: .connected, at: 2))
        #expect(try await store.deliveryQueueHeads(limit: 10).map(\.id) == ["d1", "d3"])

        // d1 fails and waits a minute; d2 (due now) still does not overtake it.
        #expect(try await store.claimDelivery(id: "d1", now: now + 5, until: now + 35))
        try await store.recordAttempt(attempt("d1", 1, status: nil, error: "connect_failed", at: now + 5), status: .pending, nextAttemptAt: now + 65)
        #expect(try await store.deliveryQueueHeads(limit: 10).map(\.id) == ["d3", "d1"])
        #expect(try await !store.claimDelivery(id: "d2", now: now + 70, until: now + 100))

        // d1 gets through; d2 becomes the head.
        #expect(try await store.claimDelivery(id: "d1", now: now + 65, until: now + 95))
        try await store.recordAttempt(attempt("d1", 2, status: 204, at: now + 66), status: .delivered, nextAttemptAt: nil)
        #expect(try await store.deliveryQueueHeads(limit: 10).map(\.id) == ["d2", "d3"])

        let d1 = try #require(try await store.delivery(id: "d1"))
        #expect(d1.status == .delivered && d1.attempts == 2 && d1.lastStatusCode == 204 && d1.lastError == nil)
        #expect(d1.deliveredAt == now + 66 && d1.nextAttemptAt == nil && d1.lastAttemptAt == now + 66)
        #expect(try await store.attempts(deliveryID: "d1").map { [$0.statusCode.map(String.init) ?? $0.error ?? ""] } == [["connect_failed"], ["204"]])
    }

    @Test(arguments: StoreEngine.available) func aFailedHeadLetsTheNextDeliveryThrough(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.putWebhook(webhook("acme"))
        try await store.enqueueDelivery(delivery("d1"))
        try await store.enqueueDelivery(delivery("d2", at: 1))
        #expect(try await store.claimDelivery(id: "d1", now: now, until: now + 30))
        try await store.recordAttempt(attempt("d1", 15, status: 500, at: now), status: .failed, nextAttemptAt: now + 99)
        let d1 = try #require(try await store.delivery(id: "d1"))
        #expect(d1.status == .failed && d1.nextAttemptAt == nil && d1.deliveredAt == nil && d1.lastStatusCode == 500)
        #expect(try await store.deliveryQueueHeads(limit: 10).map(\.id) == ["d2"])
    }

    @Test(arguments: StoreEngine.available) func ofConcurrentClaimersOneWinsAndAClaimLapsesOrIsGivenBack(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.putWebhook(webhook("acme"))
        try await store.enqueueDelivery(delivery("d1"))
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { try await store.claimDelivery(id: "d1", now: now, until: now + 30) } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(wins == 1)
        #expect(try await !store.claimDelivery(id: "d1", now: now + 29, until: now + 60))
        // The claimer crashed: after its claim lapses, the delivery is due again.
        #expect(try await store.claimDelivery(id: "d1", now: now + 30, until: now + 60))
        // A claimer that shuts down gives its claim back: due at once, no attempt counted.
        try await store.releaseDelivery(id: "d1", dueAt: now + 31)
        #expect(try await store.claimDelivery(id: "d1", now: now + 31, until: now + 60))
        #expect(try await store.delivery(id: "d1")?.attempts == 0)
    }

    @Test(arguments: StoreEngine.available) func anEventIsQueuedOncePerWebhookAndNotForAMissingOne(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.putWebhook(webhook("acme"))
        try await store.enqueueDelivery(delivery("d1"))
        var again = delivery("d1-again")
        again.eventID = "evt_d1"
        await #expect(throws: LatchkeyError.self) { try await store.enqueueDelivery(again) }
        await #expect(throws: LatchkeyError.self) { try await store.enqueueDelivery(delivery("d9", webhook: "wh_gone", org: "gone")) }
    }

    @Test(arguments: StoreEngine.available) func listingIsNewestFirstPerOrgAndRemovalOrPurgeDropsDeliveries(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.putWebhook(webhook("acme"))
        _ = try await store.putWebhook(webhook("beta"))
        for (i, id) in ["d1", "d2", "d3"].enumerated() { try await store.enqueueDelivery(delivery(id, at: Double(i))) }
        try await store.enqueueDelivery(delivery("b1", webhook: "wh_beta", org: "beta"))
        #expect(try await store.deliveries(org: "acme", limit: 2).map(\.id) == ["d3", "d2"])
        #expect(try await store.deliveries(org: "beta", limit: 10).map(\.id) == ["b1"])

        _ = try await store.claimDelivery(id: "d1", now: now, until: now + 30)
        try await store.recordAttempt(attempt("d1", 1, status: 200, at: now), status: .delivered, nextAttemptAt: nil)
        // Only finished deliveries older than the cut-off go; pending ones stay whatever their age.
        #expect(try await store.purgeDeliveries(before: now + 100) == 1)
        #expect(try await store.deliveries(org: "acme", limit: 10).map(\.id) == ["d3", "d2"])
        #expect(try await store.attempts(deliveryID: "d1").isEmpty)

        #expect(try await store.deleteWebhook(org: "acme"))
        #expect(try await store.deliveries(org: "acme", limit: 10).isEmpty)
        #expect(try await store.deliveries(org: "beta", limit: 10).map(\.id) == ["b1"])
    }
}
