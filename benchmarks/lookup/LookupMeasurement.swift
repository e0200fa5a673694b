import Foundation
import LatchkeyModel
import LatchkeyStore

/// Latencies of the store read the resolver makes on a cache miss: `storedConnections(owners:provider:)` with a random
/// agent's inheritance chain (agent, project, team, org) and a random provider.
struct LookupMeasurement: Sendable {
    var latencies: [Duration]
    var wall: Duration
    var rows: Int

    var lookupsPerSecond: Double { Double(latencies.count) / wall.seconds }
    var rowsPerLookup: Double { Double(rows) / Double(latencies.count) }

    /// The latency below which `fraction` of the lookups finished, in milliseconds.
    func percentile(_ fraction: Double) -> Double {
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))].seconds * 1000
    }

    /// `lookups` lookups split over `callers` concurrent callers.
    static func run(_ store: any ConnectionStore, world: World, lookups: Int, callers: Int) async throws -> LookupMeasurement {
        let clock = ContinuousClock()
        let began = clock.now
        let parts = try await withThrowingTaskGroup(of: (latencies: [Duration], rows: Int).self) { group in
            for caller in 0..<callers {
                let count = lookups / callers + (caller < lookups % callers ? 1 : 0)
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    var latencies: [Duration] = []
                    latencies.reserveCapacity(count)
                    var rows = 0
                    for _ in 0..<count {
                        let owners = world.randomAgent(using: &rng).inheritanceChain
                        let provider = World.providers.randomElement(using: &rng)!
                        let start = clock.now
                        rows += try await store.storedConnections(owners: owners, provider: provider).count
                        latencies.append(clock.now - start)
                    }
                    return (latencies, rows)
                }
            }
            return try await group.reduce(into: [(latencies: [Duration], rows: Int)]()) { $0.append($1) }
        }
        return LookupMeasurement(latencies: parts.flatMap(\.latencies), wall: clock.now - began, rows: parts.reduce(0) { $0 + $1.rows })
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
