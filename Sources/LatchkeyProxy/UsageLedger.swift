import Foundation
import LatchkeyModel
import LatchkeyStore
import Synchronization

/// Each org's calls and credits per day, provider, agent and credential source (managed or own), for the usage report
/// and the org's page, summed over every replica that shares the store.
///
/// `record` is on the proxy's hot path, so it only counts in memory; `flush` (run with the proxy counts by
/// `ProxyStatsFlusher`) adds what was counted to the store. Reads add this process's unflushed counts to the store's.
/// The credit pool itself is exact and separate (`CreditStore`); this is its history.
public final class UsageLedger: Sendable {
    /// Days kept in the store.
    public static let retentionDays = 90
    private let store: any UsageStore
    private let state = Mutex(State())

    private struct State {
        /// Counted since the last flush began, by key (the row with zero calls and credits).
        var pending: [DailyUsage: DailyUsage] = [:]
        var flushing = false
    }

    public init(store: any UsageStore) { self.store = store }

    /// Counts one call that reached the provider. Never waits for the store.
    public func record(org: String, agent: String, provider: ProviderID, credentials: CredentialSource, credits: Int, at time: Date) {
        let key = DailyUsage(org: org, day: DailyUsage.day(of: time), provider: provider, agent: agent, credentials: credentials, calls: 0, credits: 0)
        func count(_ row: inout DailyUsage) {
            row.calls += 1
            row.credits += credits
        }
        // In place: one lookup per call.
        state.withLock { count(&$0.pending[key, default: key]) }
    }

    /// Adds what was counted since the last flush to the store; kept for the next flush when the store fails. A flush
    /// started while another runs does nothing.
    public func flush() async throws {
        let taken: [DailyUsage: DailyUsage]? = state.withLock { state in
            guard !state.flushing, !state.pending.isEmpty else { return nil }
            state.flushing = true
            defer { state.pending = [:] }
            return state.pending
        }
        guard let taken else { return }
        do {
            try await store.addUsage(Array(taken.values))
            state.withLock { $0.flushing = false }
        } catch {
            state.withLock { state in
                for (key, row) in taken {
                    var merged = state.pending[key] ?? key
                    merged.calls += row.calls
                    merged.credits += row.credits
                    state.pending[key] = merged
                }
                state.flushing = false
            }
            throw error
        }
    }

    /// `org`'s rows from `sinceDay` on, by day, provider, agent and credentials: the store's and this process's
    /// unflushed counts together.
    public func usage(org: String, sinceDay: Int) async throws -> [DailyUsage] {
        let stored = try await store.usage(org: org, sinceDay: sinceDay)
        let pending = state.withLock { state in state.pending.values.filter { $0.org == org && $0.day >= sinceDay } }
        var merged: [DailyUsage: DailyUsage] = [:]
        for row in stored + pending {
            var key = row
            key.calls = 0
            key.credits = 0
            var total = merged[key] ?? key
            total.calls += row.calls
            total.credits += row.credits
            merged[key] = total
        }
        return merged.values.sorted {
            ($0.day, $0.provider.rawValue, $0.agent, $0.credentials.rawValue) < ($1.day, $1.provider.rawValue, $1.agent, $1.credentials.rawValue)
        }
    }
}
