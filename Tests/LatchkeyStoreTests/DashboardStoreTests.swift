import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// The dashboard's shared state (admin sessions, proxy call counts) in the store contract, on every available engine.
@Suite("Dashboard store contract")
struct DashboardStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let github = ProviderID("github")
    let slack = ProviderID("slack")

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion7(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains { $0.hasPrefix("v7: dashboard sessions and proxy call counts") })
    }

    @Test(arguments: StoreEngine.available) func aSessionIsFoundUntilItExpiresAndAnExpiredOneIsDeleted(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createAdminSession(idHash: "h1", expiresAt: now + 60, now: now, capacity: 10)
        #expect(try await store.adminSessionExpiry(idHash: "h1", now: now + 59) == now + 60)
        #expect(try await store.adminSessionExpiry(idHash: "h1", now: now + 60) == nil)
        // Deleted on the way: even a clock that goes back does not bring it back.
        #expect(try await store.adminSessionExpiry(idHash: "h1", now: now) == nil)
        #expect(try await store.adminSessionExpiry(idHash: "unknown", now: now) == nil)
    }

    @Test(arguments: StoreEngine.available) func signOutDeletesTheSessionAndAHashIsStoredOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createAdminSession(idHash: "h1", expiresAt: now + 60, now: now, capacity: 10)
        await #expect(throws: LatchkeyError.self) { try await store.createAdminSession(idHash: "h1", expiresAt: now + 90, now: now, capacity: 10) }
        try await store.deleteAdminSession(idHash: "h1")
        #expect(try await store.adminSessionExpiry(idHash: "h1", now: now) == nil)
        try await store.deleteAdminSession(idHash: "h1")  // already gone: no error
    }

    @Test(arguments: StoreEngine.available) func startingASessionPrunesExpiredOnesAndKeepsTheCap(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createAdminSession(idHash: "old", expiresAt: now + 10, now: now, capacity: 3)
        try await store.createAdminSession(idHash: "a", expiresAt: now + 100, now: now, capacity: 3)
        try await store.createAdminSession(idHash: "b", expiresAt: now + 200, now: now, capacity: 3)
        // At now + 20 "old" has expired: it goes, and the cap of 3 still has room for "c".
        try await store.createAdminSession(idHash: "c", expiresAt: now + 300, now: now + 20, capacity: 3)
        #expect(try await store.adminSessionExpiry(idHash: "a", now: now + 20) != nil)
        // A fourth live session ends the one closest to expiry.
        try await store.createAdminSession(idHash: "d", expiresAt: now + 400, now: now + 20, capacity: 3)
        #expect(try await store.adminSessionExpiry(idHash: "a", now: now + 20) == nil)
        for hash in ["b", "c", "d"] { #expect(try await store.adminSessionExpiry(idHash: hash, now: now + 20) != nil, "\(hash)") }
    }

    @Test(arguments: StoreEngine.available) func aMessageIsTakenOnceEvenByConcurrentTakers(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createAdminSession(idHash: "h1", expiresAt: now + 60, now: now, capacity: 10)
        #expect(try await store.takeAdminSessionMessage(idHash: "h1") == nil)
        try await store.setAdminSessionMessage(idHash: "h1", sealed: [1, 2])
        try await store.setAdminSessionMessage(idHash: "h1", sealed: [3, 4, 5])
        let taken = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<8 { group.addTask { try await store.takeAdminSessionMessage(idHash: "h1") } }
            return try await group.reduce(into: [[UInt8]]()) { if let m = $1 { $0.append(m) } }
        }
        #expect(taken == [[3, 4, 5]])
        // A message for a missing session goes nowhere.
        try await store.setAdminSessionMessage(idHash: "missing", sealed: [1])
        #expect(try await store.takeAdminSessionMessage(idHash: "missing") == nil)
    }

    @Test(arguments: StoreEngine.available) func proxyCountsAddUpPerProviderAndHour(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.addProxyCounts([
            ProxyHourCounts(provider: github, hour: 100, succeeded: 3, failed: 1),
            ProxyHourCounts(provider: slack, hour: 100, succeeded: 1, failed: 0),
        ])
        try await store.addProxyCounts([
            ProxyHourCounts(provider: github, hour: 100, succeeded: 2, failed: 2), ProxyHourCounts(provider: github, hour: 101, succeeded: 1, failed: 0),
        ])
        try await store.addProxyCounts([])
        #expect(try await store.proxyCounts(fromHour: 100, provider: github) == [
            ProxyHourCounts(provider: github, hour: 100, succeeded: 5, failed: 3), ProxyHourCounts(provider: github, hour: 101, succeeded: 1, failed: 0),
        ])
        #expect(try await store.proxyCounts(fromHour: 101, provider: nil) == [ProxyHourCounts(provider: github, hour: 101, succeeded: 1, failed: 0)])
        #expect(try await store.proxyCounts(fromHour: 0, provider: nil).count == 3)
    }

    @Test(arguments: StoreEngine.available) func concurrentAddersLoseNoCount(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<16 {
                // Each batch touches the same rows, listed in a different order.
                let batch = [
                    ProxyHourCounts(provider: github, hour: 7, succeeded: 1, failed: 0), ProxyHourCounts(provider: slack, hour: 7, succeeded: 0, failed: 1),
                ]
                group.addTask { try await store.addProxyCounts(i.isMultiple(of: 2) ? batch : batch.reversed()) }
            }
            try await group.waitForAll()
        }
        #expect(try await store.proxyCounts(fromHour: 7, provider: nil) == [
            ProxyHourCounts(provider: github, hour: 7, succeeded: 16, failed: 0), ProxyHourCounts(provider: slack, hour: 7, succeeded: 0, failed: 16),
        ])
    }

    @Test(arguments: StoreEngine.available) func purgingDropsHoursBeforeTheCut(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.addProxyCounts((10...14).map { ProxyHourCounts(provider: github, hour: $0, succeeded: 1, failed: 0) })
        #expect(try await store.purgeProxyCounts(beforeHour: 12) == 2)
        #expect(try await store.proxyCounts(fromHour: 0, provider: github).map(\.hour) == [12, 13, 14])
    }
}
