import Foundation
import LatchkeyModel
import LatchkeyStore
import Synchronization

/// Proxied calls and their errors per provider and hour, for the dashboard's proxy health, summed over every replica
/// that shares the store.
///
/// `record` is on the proxy's hot path, so it only counts in memory; `flush` (run every few seconds by
/// `ProxyStatsFlusher`) adds what was counted since the last flush to the store. Reads sum the store and what this
/// process has not flushed yet, so this process's calls show at once and other replicas' calls after their next flush.
///
/// An error is a call that Latchkey refused or could not complete (its own error) or that the provider answered
/// with a 5xx status; a provider's 4xx answer is the caller's business and counts as a completed call.
public final class ProxyStats: Sendable {
    /// Hours shown, the current one last.
    public static let window = 24
    private let store: any ProxyStatsStore
    private let state = Mutex(State())

    private struct State {
        /// Counted since the last flush began.
        var pending: [Key: OutcomeCounts] = [:]
        /// Whether a flush is writing to the store now.
        var flushing = false
        /// Flushes finished, to tell whether one overlapped a read.
        var flushes = 0
    }

    private struct Key: Hashable {
        var provider: ProviderID
        var hour: Int
    }

    public init(store: any ProxyStatsStore) { self.store = store }

    /// Counts one call. Never waits for the store.
    public func record(_ provider: ProviderID, at time: Date, failed: Bool) {
        let key = Key(provider: provider, hour: ProxyHourCounts.hour(of: time))
        state.withLock { state in
            if failed { state.pending[key, default: OutcomeCounts()].failed += 1 } else { state.pending[key, default: OutcomeCounts()].succeeded += 1 }
        }
    }

    /// Adds the calls counted since the last flush to the store. When the store fails they are kept for the next
    /// flush, but for hours already past the window at `now`. A flush started while another runs does nothing.
    public func flush(now: Date) async throws {
        let taken: [Key: OutcomeCounts]? = state.withLock { state in
            guard !state.flushing, !state.pending.isEmpty else { return nil }
            state.flushing = true
            defer { state.pending = [:] }
            return state.pending
        }
        guard let taken else { return }
        do {
            try await store.addProxyCounts(
                taken.map { ProxyHourCounts(provider: $0.key.provider, hour: $0.key.hour, succeeded: $0.value.succeeded, failed: $0.value.failed) })
            state.withLock { state in
                state.flushing = false
                state.flushes += 1
            }
        } catch {
            state.withLock { state in
                let oldest = ProxyHourCounts.hour(of: now) - Self.window
                for (key, counts) in taken where key.hour > oldest { state.pending[key, default: OutcomeCounts()].add(counts) }
                state.flushing = false
                state.flushes += 1
            }
            throw error
        }
    }

    /// The last `window` hours of `provider`, oldest first, the current hour last.
    public func hourly(_ provider: ProviderID, now: Date) async throws -> [OutcomeCounts] {
        let current = ProxyHourCounts.hour(of: now)
        let hours = try await counts(provider, now: now)[provider] ?? [:]
        return (0..<Self.window).map { hours[current - Self.window + 1 + $0] ?? OutcomeCounts() }
    }

    /// The totals of the last `window` hours, by provider (providers without calls are missing).
    public func totals(now: Date) async throws -> [ProviderID: OutcomeCounts] {
        try await counts(nil, now: now).mapValues { hours in
            hours.values.reduce(into: OutcomeCounts()) { $0.add($1) }
        }
    }

    /// The window's counts of `provider` (or of every provider), by provider and hour: the store's plus this
    /// process's unflushed ones.
    private func counts(_ provider: ProviderID?, now: Date) async throws -> [ProviderID: [Int: OutcomeCounts]] {
        let first = ProxyHourCounts.hour(of: now) - Self.window + 1
        var attempts = 0
        while true {
            attempts += 1
            let (flushes, flushing, pending) = state.withLock { ($0.flushes, $0.flushing, $0.pending) }
            let stored = try await store.proxyCounts(fromHour: first, provider: provider)
            // A flush that overlapped the read may or may not be in `stored`; counting its calls from memory too
            // could count them twice, leaving them out could miss them. Read again once it has ended.
            let settled = state.withLock { !flushing && !$0.flushing && $0.flushes == flushes }
            if settled || attempts == 20 {
                var result: [ProviderID: [Int: OutcomeCounts]] = [:]
                for row in stored {
                    result[row.provider, default: [:]][row.hour, default: OutcomeCounts()].add(OutcomeCounts(succeeded: row.succeeded, failed: row.failed))
                }
                for (key, counts) in pending where key.hour >= first && (provider == nil || key.provider == provider) {
                    result[key.provider, default: [:]][key.hour, default: OutcomeCounts()].add(counts)
                }
                return result
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
