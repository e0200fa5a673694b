import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Daily usage in the store contract, on every available engine.
@Suite("Usage store contract")
struct UsageStoreTests {
    func row(
        _ org: String, day: Int, _ credentials: CredentialSource = .managed, provider: ProviderID = "brave-search",
        agent: String = "agent:acme/t/p/scout", calls: Int = 1, credits: Int = 1
    ) -> DailyUsage {
        DailyUsage(org: org, day: day, provider: provider, agent: agent, credentials: credentials, calls: calls, credits: credits)
    }

    @Test(arguments: StoreEngine.available) func rowsAddUpPerKeyAndListFromADayInOrder(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.addUsage([row("acme", day: 20_000, calls: 2, credits: 2), row("acme", day: 20_001, .own, calls: 5, credits: 0)])
        try await store.addUsage([
            row("acme", day: 20_000, calls: 3, credits: 6), row("acme", day: 20_000, .own, provider: "airtable", calls: 1, credits: 0),
            row("globex", day: 20_000, calls: 7, credits: 7),
        ])
        try await store.addUsage([])
        #expect(try await store.usage(org: "acme", sinceDay: 0) == [
            row("acme", day: 20_000, .own, provider: "airtable", calls: 1, credits: 0), row("acme", day: 20_000, calls: 5, credits: 8),
            row("acme", day: 20_001, .own, calls: 5, credits: 0),
        ])
        #expect(try await store.usage(org: "acme", sinceDay: 20_001) == [row("acme", day: 20_001, .own, calls: 5, credits: 0)])
        #expect(try await store.usage(org: "globex", sinceDay: 0) == [row("globex", day: 20_000, calls: 7, credits: 7)])
        #expect(try await store.purgeUsage(beforeDay: 20_001) == 3)
        #expect(try await store.usage(org: "acme", sinceDay: 0) == [row("acme", day: 20_001, .own, calls: 5, credits: 0)])
    }

    /// Replicas flush at once: every addition counts, none is lost.
    @Test(arguments: StoreEngine.available) func concurrentAdditionsAllCount(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.addUsage([row("acme", day: 1, calls: 1, credits: 2), row("acme", day: 1, .own, calls: 1, credits: 0)]) }
            }
            try await group.waitForAll()
        }
        #expect(try await store.usage(org: "acme", sinceDay: 0) == [row("acme", day: 1, calls: 20, credits: 40), row("acme", day: 1, .own, calls: 20, credits: 0)])
    }

    @Test(arguments: StoreEngine.sql) func aDamagedRowFailsItsOrgsReadOnly(_ engine: StoreEngine) async throws {
        let store = try await engine.makeRawSQLStore()
        try await store.addUsage([row("acme", day: 1), row("globex", day: 1)])
        try await store.executeRaw("UPDATE usage_daily SET credentials = 'borrowed' WHERE org = 'acme'")
        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.usage(org: "acme", sinceDay: 0) }
        #expect(error?.message.contains("credentials") == true)
        #expect(try await store.usage(org: "globex", sinceDay: 0) == [row("globex", day: 1)])
    }
}
