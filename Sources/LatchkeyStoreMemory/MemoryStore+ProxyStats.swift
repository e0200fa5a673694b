import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: ProxyStatsStore {
    public func addProxyCounts(_ deltas: [ProxyHourCounts]) async throws {
        // All rows or none: a count that would fall below zero fails the batch, as the engines' check does.
        try transaction { state in
            for delta in deltas {
                var row =
                    state.proxyCounts[delta.hour]?[delta.provider]
                    ?? ProxyHourCounts(provider: delta.provider, hour: delta.hour, succeeded: 0, failed: 0)
                row.succeeded += delta.succeeded
                row.failed += delta.failed
                guard row.succeeded >= 0, row.failed >= 0 else { throw Self.conflict("a proxy count cannot fall below zero") }
                state.proxyCounts[delta.hour, default: [:]][delta.provider] = row
            }
        }
    }

    public func proxyCounts(fromHour: Int, provider: ProviderID?) async throws -> [ProxyHourCounts] {
        locked { state in
            state.proxyCounts.filter { $0.key >= fromHour }.values.flatMap(\.values)
                .filter { row in provider.map { $0 == row.provider } ?? true }
                .sorted { (ByteOrder($0.provider.rawValue), $0.hour) < (ByteOrder($1.provider.rawValue), $1.hour) }
        }
    }

    public func purgeProxyCounts(beforeHour: Int) async throws -> Int {
        locked { state in
            var purged = 0
            for hour in state.proxyCounts.keys where hour < beforeHour {
                purged += state.proxyCounts.removeValue(forKey: hour)?.count ?? 0
            }
            return purged
        }
    }
}
